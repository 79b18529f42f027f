"""The images operations in openapi.yaml as a contract: OpenAI's own request and response
samples are valid for our schemas (and for OpenAI's), requests stay lenient, and what the
gateway answers is an `ImagesResponse`."""

from __future__ import annotations

import pytest

from tests.spec_helpers import DOC, REFERENCE, errors, referenced_schemas, walk

OFFICIAL_SAMPLES = [
    (
        "CreateImageRequest",
        {"model": "gpt-image-1.5", "prompt": "A cute baby sea otter", "n": 1, "size": "1024x1024"},
    ),
    (
        "CreateImageRequest",
        {
            "model": "dall-e-3",
            "prompt": "An otter",
            "quality": "hd",
            "style": "natural",
            "response_format": "url",
            "size": "1792x1024",
            "user": "user-1234",
        },
    ),
    (
        "CreateImageRequest",
        {
            "model": "gpt-image-1",
            "prompt": "p",
            "background": "transparent",
            "output_format": "webp",
            "output_compression": 80,
            "moderation": "low",
            "quality": "low",
            "n": 4,
        },
    ),
    (
        "ImagesResponse",
        {
            "created": 1713833628,
            "data": [{"b64_json": "iVBORw0KGgo="}],
            "background": "transparent",
            "output_format": "png",
            "size": "1024x1024",
            "quality": "high",
            "usage": {
                "total_tokens": 100,
                "input_tokens": 50,
                "output_tokens": 50,
                "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
            },
        },
    ),
    (
        "ImagesResponse",
        {
            "created": 1713833628,
            "data": [
                {
                    "url": "https://gw.example/api/openai/v1/images/files/x.png",
                    "revised_prompt": "A photorealistic otter",
                }
            ],
        },
    ),
]


@pytest.mark.parametrize(("name", "payload"), OFFICIAL_SAMPLES)
def test_openai_samples_are_valid_for_our_schemas(name: str, payload: dict) -> None:  # type: ignore[type-arg]
    if REFERENCE.exists():  # the sample must really be valid for OpenAI's own schema
        assert errors(name, payload, official=True) == []
    assert errors(name, payload) == []


def test_sdk_style_requests_with_nulls_and_unknown_fields_are_accepted() -> None:
    body = {
        "model": "writingmate/echo-image",
        "prompt": "p",
        "n": None,
        "size": None,
        "quality": None,
        "style": None,
        "response_format": None,
        "stream": False,
        "partial_images": None,
        "user": None,
        "a_field_from_the_future": {"x": 1},
    }
    assert errors("CreateImageRequest", body) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "p"}, "model"),
        ({"model": "m"}, "prompt"),
        ({"model": "m", "prompt": "p", "n": 0}, "n"),
        ({"model": "m", "prompt": "p", "n": 11}, "n"),
        ({"model": "m", "prompt": "p", "size": "huge"}, "size"),
        ({"model": "m", "prompt": "p", "response_format": "png"}, "response_format"),
        ({"model": "m", "prompt": "p", "stream": True}, "stream"),
    ],
)
def test_bad_requests_are_refused_by_the_schema(body: dict, field: str) -> None:  # type: ignore[type-arg]
    assert errors("CreateImageRequest", body) != [], field


def test_request_schema_never_forbids_unknown_fields() -> None:
    for name in referenced_schemas("CreateImageRequest"):
        for path, node in walk(DOC["components"]["schemas"][name], f"#/{name}"):
            assert node.get("additionalProperties") is not False, path


def test_the_image_file_operation_needs_no_key_and_every_error_is_documented() -> None:
    files = DOC["paths"]["/images/files/{name}"]["get"]
    assert files["security"] == []
    assert {"200", "404", "default"} <= set(files["responses"])
    create = DOC["paths"]["/images/generations"]["post"]
    assert {"400", "401", "403", "404", "429", "502", "503", "504"} <= set(create["responses"])
    headers = create["responses"]["200"]["headers"]
    assert {"x-writingmate-images-counted", "x-writingmate-images-remaining"} <= set(headers)
