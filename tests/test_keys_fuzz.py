"""Hypothesis against the developer-key parser (domain/keys.py): it never raises, whatever it
is given; it accepts only what was generated under the server secret; what it accepts comes
back as it was made."""

from __future__ import annotations

import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain import keys
from web.idempotency import developer_key_id

SECRET = b"fuzzing-server-secret-0123456789"
MANY = settings(max_examples=300, deadline=None)
ALPHABET = string.ascii_letters + string.digits + "_-"
# Well shaped, with a signature nobody made: the format check passes, the HMAC check refuses.
SHAPED = st.builds(
    lambda key_id, secret, signature: f"wm_v2.{key_id}.{secret}.{signature}",
    st.text(ALPHABET, min_size=16, max_size=16),
    st.text(ALPHABET, min_size=43, max_size=43),
    st.text(ALPHABET, min_size=43, max_size=43),
)
server_secrets = st.binary(min_size=1, max_size=64)


@MANY
@given(token=st.text() | SHAPED | st.text(ALPHABET + ".", max_size=120))
@example(token="")
@example(token="wm_v2...")
@example(token="wm_v2." + "a" * 16 + "." + "b" * 43 + "." + "c" * 43 + "\n")
def test_parse_never_raises_and_refuses_anything_not_generated(token: str) -> None:
    assert keys.parse(SECRET, token) is None


@MANY
@given(server_secret=server_secrets)
def test_a_generated_key_parses_back_to_what_was_stored(server_secret: bytes) -> None:
    new = keys.generate(server_secret)
    parsed = keys.parse(server_secret, new.plaintext)
    assert parsed is not None and parsed.key_id == new.key_id
    assert keys.hash_secret(parsed.secret) == new.secret_hash
    assert keys.secret_matches(parsed.secret, new.secret_hash)
    assert keys.redact(f"key={new.plaintext}") == "key=wm_v2.***"


@MANY
@given(server_secret=server_secrets, other=server_secrets)
def test_a_key_opens_only_under_the_secret_it_was_made_with(
    server_secret: bytes, other: bytes
) -> None:
    new = keys.generate(server_secret)
    accepted = keys.parse(other, new.plaintext) is not None
    assert accepted == (other == server_secret)


@MANY
@given(data=st.data())
def test_any_edit_of_a_generated_key_is_refused(data: st.DataObject) -> None:
    key = keys.generate(SECRET).plaintext
    start = data.draw(st.integers(0, len(key)), label="start")
    end = data.draw(st.integers(start, min(len(key), start + 8)), label="end")
    inserted = data.draw(st.text(max_size=8), label="inserted")
    edited = key[:start] + inserted + key[end:]
    assert (keys.parse(SECRET, edited) is not None) == (edited == key)


@MANY
@given(header=st.binary(max_size=300))
@example(header=b"Bearer ")
@example(header=b"bearer \xff\xfe")
def test_the_authorization_header_is_read_without_raising(header: bytes) -> None:
    assert developer_key_id({b"authorization": header}, SECRET) is None


@MANY
@given(server_secret=server_secrets, scheme=st.sampled_from(["Bearer", "bearer", "BEARER"]))
def test_a_generated_key_in_the_header_names_its_key_id(server_secret: bytes, scheme: str) -> None:
    new = keys.generate(server_secret)
    header = f"{scheme} {new.plaintext} ".encode()
    assert developer_key_id({b"authorization": header}, server_secret) == new.key_id
