"""Revoking and rotating developer keys with `wmgw key`, named by id or by the whole key, as
the gateway then sees them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli_runner import Site, site_on


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with site_on(Path(tmp_path_factory.mktemp("keys"))) as serving:
        serving.wmgw("plan", "create", "pro")
        yield serving


def someone(site: Site) -> str:
    """A new user in a workspace of theirs: their email."""
    email = f"{secrets.token_hex(4)}@acme.test"
    workspace = site.wmgw("workspace", "create", "Acme", "--plan", "pro")
    site.wmgw("user", "create", email, "--workspace", workspace)
    return email


def test_a_key_is_revoked_by_its_id_or_by_the_whole_key(site: Site) -> None:
    email = someone(site)
    first, second = site.wmgw("key", "create", email), site.wmgw("key", "create", email)
    assert site.wmgw("key", "revoke", first) == f"revoked {first.split('.')[1]}"
    revoked = site.wmgw.json("key", "revoke", second.split(".")[1])
    assert revoked["id"] == second.split(".")[1] and revoked["revoked_at"].endswith("+00:00")
    assert (site.status(first), site.status(second)) == (401, 401)
    again = site.wmgw.refusal("key", "revoke", first)
    assert again.startswith(f"wmgw: key {first.split('.')[1]} was revoked already, at ")
    assert first not in again


def test_a_mangled_whole_key_is_refused_without_being_repeated(site: Site) -> None:
    key = site.wmgw("key", "create", someone(site))
    mangled = key[:-5]
    said = site.wmgw.refusal("key", "revoke", mangled)
    assert said == "wmgw: that is neither a key id nor a whole key (wm_v2.<id>.<secret>.<sig>)"
    assert site.wmgw.refusal("key", "rotate", key.split(".")[2]) == (
        "wmgw: no key (`wmgw key list` shows them)"  # a secret on its own is not repeated either
    )
    assert site.status(key) == 200


def test_rotating_a_key_replaces_it_at_once_keeping_its_name_expiry_and_limits(
    site: Site,
) -> None:
    email = someone(site)
    old = site.wmgw("key", "create", email, "--name", "ci", "--rpm", "7", "--expires-in-days", "30")
    result = site.wmgw.run("key", "rotate", old)
    assert result.exit_code == 0, result.output
    new = result.stdout.strip()
    assert new.startswith("wm_v2.") and "\n" not in new and new != old
    old_id, new_id = old.split(".")[1], new.split(".")[1]
    assert result.stderr.strip() == f"wmgw: key {old_id} is revoked; its replacement is {new_id}"
    assert (site.status(old), site.status(new)) == (401, 200)

    listed = {key["id"]: key for key in site.wmgw.json("key", "list", "--user", email)}
    assert listed[old_id]["revoked_at"] is not None and listed[new_id]["revoked_at"] is None
    same = ("user_id", "name", "expires_at", "rpm_limit", "tpm_limit")
    assert [listed[new_id][f] for f in same] == [listed[old_id][f] for f in same]
    assert listed[new_id]["rpm_limit"] == 7
    assert site.wmgw.refusal("key", "rotate", old_id).startswith(
        f"wmgw: key {old_id} was revoked already"
    )


def test_rotating_with_a_grace_period_keeps_the_old_key_working_until_it_expires(
    site: Site,
) -> None:
    email = someone(site)
    old = site.wmgw("key", "create", email, "--name", "laptop")
    before = datetime.now(UTC).replace(microsecond=0)
    rotated = site.wmgw.json("key", "rotate", old.split(".")[1], "--grace-minutes", "15")
    assert (site.status(old), site.status(rotated["key"])) == (200, 200)
    replaced = rotated["replaces"]
    assert (replaced["id"], replaced["revoked_at"]) == (old.split(".")[1], None)
    ends = datetime.fromisoformat(replaced["expires_at"])
    assert before + timedelta(minutes=15) <= ends <= datetime.now(UTC) + timedelta(minutes=15)
    assert (rotated["name"], rotated["expires_at"]) == ("laptop", None)

    site.wmgw("key", "rotate", rotated["id"], "--grace-minutes", "0")
    assert site.status(rotated["key"]) == 401

    due = site.wmgw.json("key", "create", email, "--expires-in-days", "1")
    week = site.wmgw.json("key", "rotate", due["id"], "--grace-minutes", str(7 * 24 * 60))
    assert week["replaces"]["expires_at"] == due["expires_at"]  # its own end came sooner
    assert "--grace-minutes" in site.wmgw.refusal(
        "key", "rotate", old, "--grace-minutes", "-1", status=2
    )
