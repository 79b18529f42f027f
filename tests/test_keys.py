"""Developer keys: `wm_v2.<key-id>.<secret>.<signature>`, signed with the server secret."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import keys

SERVER_SECRET = b"server-secret-for-tests-0123456789"
OTHER_SECRET = b"another-server-secret-9876543210"
KEY_SHAPE = re.compile(r"^wm_v2\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$")
ALPHABET = string.ascii_letters + string.digits + "_-"
PART_SPANS = {"id": (6, 22), "secret": (23, 66), "signature": (67, 110)}


@pytest.fixture(scope="module")
def new_key() -> keys.NewKey:
    return keys.generate(SERVER_SECRET)


def test_generated_key_has_the_documented_shape(new_key):
    assert KEY_SHAPE.fullmatch(new_key.plaintext)
    assert len(new_key.plaintext) == 110


def test_generated_key_parses_back_to_its_id_and_secret(new_key):
    parsed = keys.parse(SERVER_SECRET, new_key.plaintext)
    assert parsed is not None
    assert parsed.key_id == new_key.key_id
    assert new_key.plaintext.split(".")[1] == new_key.key_id
    assert parsed.secret == new_key.plaintext.split(".")[2]


def test_key_is_refused_under_another_server_secret(new_key):
    assert keys.parse(OTHER_SECRET, new_key.plaintext) is None


@pytest.mark.parametrize("part", list(PART_SPANS))
def test_changing_any_single_character_refuses_the_key(new_key, part):
    start, end = PART_SPANS[part]
    plaintext = new_key.plaintext
    for position in range(start, end):
        for replacement in {"A", "z", "0", "_", "-"} - {plaintext[position]}:
            forged = plaintext[:position] + replacement + plaintext[position + 1 :]
            assert keys.parse(SERVER_SECRET, forged) is None, (part, position, replacement)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0, max_value=109), replacement=st.sampled_from(ALPHABET))
def test_any_single_character_change_is_refused(new_key, position, replacement):
    plaintext = new_key.plaintext
    forged = plaintext[:position] + replacement + plaintext[position + 1 :]
    if forged == plaintext:
        assert keys.parse(SERVER_SECRET, forged) is not None
    else:
        assert keys.parse(SERVER_SECRET, forged) is None


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("sk-proj-abc", id="an OpenAI key"),
        pytest.param("wm_v1.abc.def.ghi", id="old prefix"),
        pytest.param("wm_v2.short.secret.sig", id="wrong part lengths"),
        pytest.param("Bearer wm_v2." + "a" * 16 + "." + "b" * 43 + "." + "c" * 43, id="bearer"),
    ],
)
def test_malformed_tokens_are_refused(token):
    assert keys.parse(SERVER_SECRET, token) is None


def test_well_shaped_key_with_wrong_signature_is_refused():
    token = "wm_v2." + "a" * 16 + "." + "b" * 43 + "." + "c" * 43
    assert KEY_SHAPE.fullmatch(token)
    assert keys.parse(SERVER_SECRET, token) is None


def test_key_missing_or_extra_characters_is_refused(new_key):
    assert keys.parse(SERVER_SECRET, new_key.plaintext[:-1]) is None
    assert keys.parse(SERVER_SECRET, new_key.plaintext + "A") is None
    assert keys.parse(SERVER_SECRET, " " + new_key.plaintext) is None


def test_stored_hash_is_not_the_secret_and_matches_only_it(new_key):
    secret = new_key.plaintext.split(".")[2]
    assert new_key.secret_hash != secret
    assert secret not in new_key.secret_hash
    assert new_key.secret_hash == keys.hash_secret(secret)
    assert keys.secret_matches(secret, new_key.secret_hash)
    assert not keys.secret_matches(
        secret[:-1] + ("A" if secret[-1] != "A" else "B"), new_key.secret_hash
    )
    assert not keys.secret_matches("", new_key.secret_hash)


def test_stored_hash_is_sha256_hex(new_key):
    assert re.fullmatch(r"[0-9a-f]{64}", new_key.secret_hash)


def test_generated_keys_never_repeat():
    generated = [keys.generate(SERVER_SECRET) for _ in range(200)]
    assert len({k.plaintext for k in generated}) == 200
    assert len({k.key_id for k in generated}) == 200
    assert len({k.secret_hash for k in generated}) == 200


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        pytest.param(
            "key wm_v2.AAAAAAAAAAAAAAAA.bbb.ccc refused", "AAAAAAAAAAAAAAAA", id="our key"
        ),
        pytest.param("Authorization: Bearer xyz", "xyz", id="bearer token"),
        pytest.param("authorization: bearer sk-proj-123", "sk-proj-123", id="lowercase bearer"),
    ],
)
def test_redact_hides_keys_and_bearer_tokens(text, hidden):
    redacted = keys.redact(text)
    assert hidden not in redacted
    assert "***" in redacted


def test_redact_hides_a_whole_generated_key(new_key):
    redacted = keys.redact(f"invalid key {new_key.plaintext}, try again")
    assert redacted == "invalid key wm_v2.***, try again"
    for part in new_key.plaintext.split(".")[1:]:
        assert part not in redacted


def test_redact_keeps_the_bearer_word_and_surrounding_text():
    assert keys.redact("sent Bearer xyz today") == "sent Bearer *** today"


def test_redact_leaves_ordinary_text_alone():
    text = "The model `gpt-4o` does not exist."
    assert keys.redact(text) == text


def test_key_ids_never_start_with_a_dash_so_the_cli_takes_them_as_arguments() -> None:
    ids = [keys.generate(b"s" * 32).key_id for _ in range(300)]
    assert not any(key_id.startswith("-") for key_id in ids)
