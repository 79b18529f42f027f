"""Users' own upstream keys are sealed at rest and open only for their owner."""

from __future__ import annotations

import pytest

from domain import sealing

SECRET = b"server-secret-for-tests"


def test_a_sealed_key_opens_for_its_owner_and_hides_the_key() -> None:
    sealed = sealing.seal(SECRET, "sk-or-v1-abcdef", "user_1")
    assert "sk-or" not in sealed and "abcdef" not in sealed
    assert sealing.unseal(SECRET, sealed, "user_1") == "sk-or-v1-abcdef"


def test_sealing_twice_gives_different_ciphertexts() -> None:
    assert sealing.seal(SECRET, "k", "u") != sealing.seal(SECRET, "k", "u")


@pytest.mark.parametrize(
    ("secret", "owner", "mangle"),
    [
        (b"another-server-secret", "user_1", lambda t: t),
        (SECRET, "user_2", lambda t: t),
        (SECRET, "user_1", lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB")),
    ],
    ids=["other-server", "moved-to-another-user", "tampered"],
)
def test_a_sealed_key_does_not_open_elsewhere(secret: bytes, owner: str, mangle) -> None:  # type: ignore[no-untyped-def]
    sealed = mangle(sealing.seal(SECRET, "sk-or-v1-abcdef", "user_1"))
    with pytest.raises(sealing.Unsealable):
        sealing.unseal(secret, sealed, owner)
