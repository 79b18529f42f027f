"""Deleting users, workspaces and plans, and managing memberships, with `wmgw`: refused in
plain words while something depends on them, and with `--force` everything that does goes
with them, so the gateway keeps answering sensibly."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy

from tests.cli_runner import Site, site_on
from tests.services.postgres import server_bin


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The deletions' SQL on both databases the gateway runs on."""
    env = {}
    if request.param == "postgresql":
        if server_bin() is None:
            pytest.skip("PostgreSQL is not installed")
        env["DATABASE_URL"] = fresh_database(request.getfixturevalue("postgres_server"))
    with site_on(Path(tmp_path_factory.mktemp("removals")), env) as serving:
        yield serving


def fresh_database(server_url: str) -> str:
    name = f"t_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class Team:
    plan: str
    workspace: str
    email: str
    user: str
    key: str


def team(site: Site) -> Team:
    """A plan of its own, a workspace on it, its owner and a key of theirs."""
    name = secrets.token_hex(4)
    plan = site.wmgw("plan", "create", f"plan-{name}")
    workspace = site.wmgw("workspace", "create", name, "--plan", plan)
    email = f"{name}@acme.test"
    user = site.wmgw("user", "create", email, "--workspace", workspace)
    return Team(plan, workspace, email, user, site.wmgw("key", "create", email))


def test_a_user_with_keys_is_deleted_only_with_force_and_then_nothing_of_theirs_is_left(
    site: Site,
) -> None:
    ana = team(site)
    site.wmgw("key", "create", ana.email, "--name", "spare")
    site.wmgw("byok", "set", ana.email, stdin="sk-or-v1-ana-own-key-0123\n")
    site.chat(ana.key)

    assert site.wmgw.refusal("user", "delete", ana.email) == (
        f"wmgw: user {ana.email} still has 2 keys, 1 membership, 1 own provider key: "
        "delete them too with --force"
    )
    assert site.status(ana.key) == 200
    deleted = site.wmgw.json("user", "delete", ana.email, "--force")
    assert deleted == {
        "deleted": "user",
        "id": ana.user,
        "removed": {"keys": 2, "memberships": 1, "own_provider_keys": 1},
    }
    assert site.status(ana.key) == 401
    assert ana.user not in site.wmgw("user", "list")
    assert site.wmgw.json("member", "list", "--workspace", ana.workspace) == []
    assert ana.user not in site.wmgw("key", "list")
    [history] = site.wmgw.json("usage", "--by", "user", "--workspace", ana.workspace)
    assert (history["user_id"], history["requests"]) == (ana.user, 1)  # the ledger keeps it


def test_a_user_with_nothing_depending_on_them_is_deleted_without_force(site: Site) -> None:
    user = site.wmgw("user", "create", "loner@acme.test")
    assert site.wmgw("user", "delete", "loner@acme.test") == f"deleted user {user}"
    assert "no user 'loner@acme.test'" in site.wmgw.refusal("user", "delete", "loner@acme.test")


def test_deleting_a_workspace_moves_its_members_to_another_and_keeps_its_usage(
    site: Site,
) -> None:
    ana = team(site)
    other = site.wmgw("workspace", "create", "Other", "--plan", ana.plan)
    site.wmgw("member", "add", ana.email, other)
    site.chat(ana.key)
    site.store_response(ana.key)

    said = site.wmgw.refusal("workspace", "delete", ana.workspace)
    assert said == (
        f"wmgw: workspace {ana.workspace} still has 1 membership, 1 stored response: "
        "delete them too with --force"
    )
    assert site.wmgw("workspace", "delete", ana.workspace, "--force") == (
        f"deleted workspace {ana.workspace} and 1 membership, 1 stored response"
    )
    [membership] = site.wmgw.json("member", "list", "--user", ana.email)
    assert (membership["workspace_id"], membership["current"]) == (other, True)
    assert site.status(ana.key) == 200  # the key now acts in the other workspace
    assert ana.workspace not in site.wmgw("workspace", "list")
    everywhere = site.wmgw.json("usage", "--by", "key", "--days", "1")
    assert [row["requests"] for row in everywhere if row["workspace_id"] == ana.workspace] == [2]


def test_deleting_a_plan_moves_its_workspaces_or_deletes_them_with_force(site: Site) -> None:
    ana, bo = team(site), team(site)
    said = site.wmgw.refusal("plan", "delete", ana.plan)
    assert said == (
        f"wmgw: plan {ana.plan!r} still has 1 workspace ({ana.workspace}): move them with "
        "--move-to PLAN, or delete them with --force"
    )
    assert site.wmgw.json("plan", "delete", ana.plan, "--move-to", bo.plan) == {
        "deleted": "plan",
        "name": ana.plan,
        "moved_to": bo.plan,
        "moved_workspaces": [ana.workspace],
        "deleted_workspaces": [],
    }
    assert site.status(ana.key) == 200
    assert {w["id"]: w["plan"] for w in site.wmgw.json("workspace", "list")}[ana.workspace] == (
        bo.plan
    )
    site.wmgw.refusal("plan", "delete", bo.plan, "--move-to", bo.plan)
    assert site.wmgw("plan", "delete", bo.plan, "--force").splitlines() == [
        f"deleted plan {bo.plan}",
        f"2 workspaces deleted: {ana.workspace}, {bo.workspace}",
    ]
    assert site.status(ana.key) == 403  # a user with no workspace left
    assert bo.plan not in site.wmgw("plan", "list")


def test_members_are_listed_and_removed_and_the_current_workspace_follows(site: Site) -> None:
    ana = team(site)
    other = site.wmgw("workspace", "create", "Side", "--plan", ana.plan)
    site.wmgw("member", "add", ana.email, other)
    listed = site.wmgw("member", "list", "--user", ana.email).splitlines()
    assert listed[0].split() == [
        "workspace_id",
        "workspace_name",
        "user_id",
        "email",
        "role",
        "current",
        "created_at",
    ]
    assert [line.split()[4:6] for line in listed[1:]] == [["owner", "yes"], ["member", "no"]]

    assert site.wmgw("member", "remove", ana.email, ana.workspace) == (
        f"removed {ana.email} from {ana.workspace}; their current workspace is {other}"
    )
    removed = site.wmgw.json("member", "remove", ana.email, other)
    assert removed["current_workspace_id"] is None
    assert site.status(ana.key) == 403
    assert site.wmgw.refusal("member", "remove", ana.email, other) == (
        f"wmgw: {ana.email} is not a member of {other}"
    )
    assert site.wmgw("member", "list", "--workspace", other) == "(none)"


def test_a_members_role_is_changed_and_a_stranger_has_none_to_change(site: Site) -> None:
    ana = team(site)
    changed = site.wmgw.json("member", "set-role", ana.email, ana.workspace, "member")
    assert (changed["email"], changed["role"]) == (ana.email, "member")
    other = site.wmgw("workspace", "create", "Elsewhere", "--plan", ana.plan)
    assert site.wmgw.refusal("member", "set-role", ana.email, other, "owner") == (
        f"wmgw: {ana.email} is not a member of {other}"
    )
