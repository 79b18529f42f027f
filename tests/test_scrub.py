"""domain/scrub.py: what an upstream repeats of a credential never reaches a client."""

from __future__ import annotations

import pytest

from domain.scrub import scrub


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            "Incorrect API key provided: sk-proj-AbC123dEf456.", "AbC123dEf456", id="openai"
        ),
        pytest.param("Incorrect API key provided: sk-ups**********-key.", "sk-ups", id="masked"),
        pytest.param("invalid x-api-key sk-ant-api03-Zz9_yY8-xX7", "api03-Zz9", id="anthropic"),
        pytest.param("bad key sk-or-v1-0123456789abcdef0123", "0123456789abcdef", id="openrouter"),
        pytest.param("key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv refused", "SyA1b2", id="google"),
        pytest.param("token r8_Ab12Cd34Ef56Gh78Ij90 is invalid", "Ab12Cd34", id="replicate"),
        pytest.param("header was Authorization: Bearer abc.def.ghi", "abc.def", id="bearer"),
        pytest.param("GET /v1beta/models?key=AIza-anything&alt=sse", "anything", id="url key"),
        pytest.param("session x9Fq2LmZ7vB4nR8tK1wY6pD3sH5jC0gQ expired", "x9Fq2LmZ", id="random"),
        pytest.param("wm_v2.0123456789abcdef.xyz.abc is ours", "0123456789abcdef", id="ours"),
    ],
)
def test_anything_shaped_like_a_key_is_masked(text: str, secret: str) -> None:
    scrubbed = scrub(text)
    assert secret not in scrubbed
    assert "***" in scrubbed


def test_the_keys_a_request_went_out_with_are_masked_exactly_whatever_their_shape() -> None:
    key = "correct-horse-battery-staple"
    scrubbed = scrub(f"The key {key} is not valid here.", [key, None, ""])
    assert scrubbed == "The key *** is not valid here."


def test_short_secrets_do_not_mask_ordinary_words() -> None:
    assert scrub("an error occurred", ["error"]) == "an error occurred"


@pytest.mark.parametrize(
    "text",
    [
        "The model `gemini-2.5-flash-preview-05-20` is overloaded. Please try again later.",
        "Rate limit reached for gpt-4o-mini in organization org-fake on tokens per min (TPM).",
        "Please include the request ID req_4f2ad1c9b3e84a7d9f0e6b1c2d3a4b5c in your message.",
        "id 0d7a1f6e-9b2c-4c8e-a3d5-7f1e2b9c4a6d, see https://platform.openai.com/docs/guides",
        "This is a risk-free task-based desk-top message.",
    ],
)
def test_ordinary_messages_are_left_alone(text: str) -> None:
    assert scrub(text) == text
