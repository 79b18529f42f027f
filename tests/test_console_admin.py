"""The console's admin actions over HTTP: plans and their limits, pools, roles, removing members,
deleting users, workspaces and plans, each with `wmgw`'s rules and refusals in its words; and
every one of them refused to a member who is not a site admin."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.console_site import MEMBER, OWNER, ConsoleSite, Session, console_site

ADMIN = "/console/api/admin"
UNLIMITED = {
    "daily_message_limit": None,
    "daily_image_limit": None,
    "monthly_video_seconds": None,
    "key_rpm_limit": None,
    "key_tpm_limit": None,
}


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    with console_site(tmp_path_factory.mktemp("console-admin")) as running:
        yield running


@pytest.fixture(scope="module")
def owner(console: ConsoleSite) -> Session:
    return console.signed_in(OWNER)


def fresh(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def refused(answer: Any, status: int, code: str | None = None) -> str:
    """The refusal's message, once its status (and code) are the expected ones."""
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    if code is not None:
        assert error["code"] == code, error
    return str(error["message"])


def test_a_member_is_refused_every_admin_action(console: ConsoleSite) -> None:
    member = console.signed_in(MEMBER)
    ws = console.member_workspace
    actions = [
        ("POST", f"{ADMIN}/plans", {"name": "sneaky"}),
        ("PATCH", f"{ADMIN}/plans/free", {"daily_message_limit": None}),
        ("DELETE", f"{ADMIN}/plans/free", None),
        ("POST", f"{ADMIN}/pools", {"name": "sneaky", "messages": 1}),
        ("PATCH", f"{ADMIN}/pools/sneaky", {"messages": 1}),
        ("PUT", f"{ADMIN}/workspaces/{ws}/pool", {"pool": "sneaky"}),
        ("DELETE", f"{ADMIN}/workspaces/{ws}/pool", None),
        ("PATCH", f"{ADMIN}/memberships/{ws}/{MEMBER}", {"role": "owner"}),
        ("DELETE", f"{ADMIN}/memberships/{ws}/{MEMBER}", None),
        ("DELETE", f"{ADMIN}/users/{OWNER}", None),
        ("DELETE", f"{ADMIN}/workspaces/{console.owner_workspace}", None),
    ]
    for method, path, body in actions:
        refused(member.send(method, path, json=body), 403, "admin_only")
    [plan] = [p for p in console.site.wmgw.json("plan", "list") if p["name"] == "free"]
    assert plan["daily_message_limit"] == 100
    assert console.site.wmgw.json("member", "list", "--user", MEMBER)[0]["role"] == "member"


def test_a_plan_is_created_and_its_limits_changed_one_by_one(
    console: ConsoleSite, owner: Session
) -> None:
    name = fresh("plan")
    made = owner.send("POST", f"{ADMIN}/plans", json={"name": name, "daily_message_limit": 5})
    assert made.status_code == 201
    assert made.json() == {**UNLIMITED, "name": name, "daily_message_limit": 5}
    changed = owner.send(
        "PATCH", f"{ADMIN}/plans/{name}", json={"daily_image_limit": 3, "key_rpm_limit": 60}
    )
    assert changed.json() == {
        **UNLIMITED,
        "name": name,
        "daily_message_limit": 5,
        "daily_image_limit": 3,
        "key_rpm_limit": 60,
    }
    owner.send("PATCH", f"{ADMIN}/plans/{name}", json={"monthly_video_seconds": 90})
    owner.send("PATCH", f"{ADMIN}/plans/{name}", json={"key_tpm_limit": 9000})
    unlimited = owner.send("PATCH", f"{ADMIN}/plans/{name}", json={"daily_message_limit": None})
    assert unlimited.json()["daily_message_limit"] is None
    [listed] = [p for p in console.site.wmgw.json("plan", "list") if p["name"] == name]
    assert {k: listed[k] for k in UNLIMITED} == {
        "daily_message_limit": None,
        "daily_image_limit": 3,
        "monthly_video_seconds": 90,
        "key_rpm_limit": 60,
        "key_tpm_limit": 9000,
    }


def test_plan_changes_are_refused_as_wmgw_refuses_them(owner: Session) -> None:
    twice = owner.send("POST", f"{ADMIN}/plans", json={"name": "free"})
    assert refused(twice, 409, "plan_exists") == "a plan named 'free' exists already"
    nosuch = owner.send("PATCH", f"{ADMIN}/plans/nosuch", json={"daily_image_limit": 1})
    assert refused(nosuch, 404) == "no plan 'nosuch' (`wmgw plan list` shows them)"
    refused(owner.send("PATCH", f"{ADMIN}/plans/free", json={}), 400)
    refused(owner.send("PATCH", f"{ADMIN}/plans/free", json={"daily_message_limit": -1}), 400)
    refused(owner.send("PATCH", f"{ADMIN}/plans/free", json={"key_rpm_limit": 0}), 400)


def test_a_plan_in_use_is_deleted_only_moving_or_deleting_its_workspaces(
    console: ConsoleSite, owner: Session
) -> None:
    wmgw = console.site.wmgw
    plan = wmgw("plan", "create", fresh("plan"))
    workspace = wmgw("workspace", "create", "On it", "--plan", plan)
    message = refused(owner.send("DELETE", f"{ADMIN}/plans/{plan}"), 409, "in_use")
    assert f"wmgw: {message}" == wmgw.refusal("plan", "delete", plan)
    same = owner.send("DELETE", f"{ADMIN}/plans/{plan}", params={"move_to": plan})
    assert refused(same, 400) == "--move-to names the plan being deleted"
    moved = owner.send("DELETE", f"{ADMIN}/plans/{plan}", params={"move_to": "pro"})
    assert moved.json() == {
        "deleted": "plan",
        "name": plan,
        "moved_to": "pro",
        "moved_workspaces": [workspace],
        "deleted_workspaces": [],
    }
    assert wmgw.json("workspace", "list")[-1]["plan"] == "pro"

    plan = wmgw("plan", "create", fresh("plan"))
    workspace = wmgw("workspace", "create", "Doomed", "--plan", plan)
    forced = owner.send("DELETE", f"{ADMIN}/plans/{plan}", params={"force": "true"})
    assert forced.json()["deleted_workspaces"] == [workspace]
    refused(owner.send("DELETE", f"{ADMIN}/plans/{plan}"), 404, "plan_not_found")


def test_a_pool_is_created_resized_attached_and_detached(
    console: ConsoleSite, owner: Session
) -> None:
    name = fresh("pool")
    made = owner.send(
        "POST", f"{ADMIN}/pools", json={"name": name, "messages": 100, "monthly": True}
    )
    assert made.status_code == 201
    assert (made.json()["renewal"], made.json()["remaining"]) == ("monthly", 100)
    twice = owner.send("POST", f"{ADMIN}/pools", json={"name": name, "messages": 1})
    assert refused(twice, 409, "pool_exists") == f"a pool named {name!r} exists already"
    resized = owner.send("PATCH", f"{ADMIN}/pools/{name}", json={"messages": 50})
    assert resized.json()["messages"] == 50

    workspace_pool = f"{ADMIN}/workspaces/{console.member_workspace}/pool"
    attached = owner.send("PUT", workspace_pool, json={"pool": name})
    assert attached.json() == {
        "workspace_id": console.member_workspace,
        "pool_id": made.json()["id"],
    }
    [listed] = [p for p in console.site.wmgw.json("pool", "list") if p["name"] == name]
    assert listed["workspaces"] == 1
    assert owner.send("DELETE", workspace_pool).json()["pool_id"] is None

    nosuch = owner.send("PUT", workspace_pool, json={"pool": "nosuch"})
    assert refused(nosuch, 404) == "no pool 'nosuch' (`wmgw pool list` shows them)"
    nowhere = owner.send("PUT", f"{ADMIN}/workspaces/ws_nosuch/pool", json={"pool": name})
    assert refused(nowhere, 404) == "no workspace 'ws_nosuch' (`wmgw workspace list` shows them)"


def test_a_members_role_is_changed_and_then_they_are_removed(
    console: ConsoleSite, owner: Session
) -> None:
    wmgw = console.site.wmgw
    email = f"{fresh('role')}@example.com"
    wmgw("user", "create", email)
    workspace = wmgw("workspace", "create", "Team", "--plan", "pro")
    wmgw("member", "add", email, workspace)
    membership = f"{ADMIN}/memberships/{workspace}/{email}"
    promoted = owner.send("PATCH", membership, json={"role": "owner"})
    assert (promoted.json()["email"], promoted.json()["role"]) == (email, "owner")
    refused(owner.send("PATCH", membership, json={"role": "superhero"}), 400)

    removed = owner.send("DELETE", membership)
    assert removed.json()["current_workspace_id"] is None
    again = owner.send("DELETE", membership)
    assert f"wmgw: {refused(again, 404, 'not_a_member')}" == wmgw.refusal(
        "member", "remove", email, workspace
    )
    nobody = owner.send("PATCH", f"{ADMIN}/memberships/{workspace}/x@y.z", json={"role": "owner"})
    assert refused(nobody, 404, "user_not_found") == "no user 'x@y.z' (`wmgw user list` shows them)"


def test_a_user_with_keys_is_deleted_only_with_force(console: ConsoleSite, owner: Session) -> None:
    wmgw = console.site.wmgw
    email = f"{fresh('gone')}@example.com"
    user_id = wmgw("user", "create", email, "--workspace", console.owner_workspace)
    key = wmgw("key", "create", email)
    message = refused(owner.send("DELETE", f"{ADMIN}/users/{email}"), 409, "in_use")
    assert f"wmgw: {message}" == wmgw.refusal("user", "delete", email)
    assert console.site.status(key) == 200
    deleted = owner.send("DELETE", f"{ADMIN}/users/{email}", params={"force": "true"})
    assert deleted.json() == {
        "deleted": "user",
        "id": user_id,
        "removed": {"keys": 1, "memberships": 1, "own_provider_keys": 0},
    }
    assert console.site.status(key) == 401
    refused(owner.send("DELETE", f"{ADMIN}/users/{email}"), 404, "user_not_found")


def test_an_admin_cannot_delete_themselves(owner: Session) -> None:
    refused(
        owner.send("DELETE", f"{ADMIN}/users/{OWNER}?force=true"), 409, "cannot_delete_yourself"
    )
    assert owner.send("GET", f"{ADMIN}/accounts").status_code == 200


def test_a_workspace_with_members_is_deleted_only_with_force(
    console: ConsoleSite, owner: Session
) -> None:
    wmgw = console.site.wmgw
    workspace = wmgw("workspace", "create", "Short-lived", "--plan", "free")
    path = f"{ADMIN}/workspaces/{workspace}"
    assert (
        owner.send(
            "POST", f"{ADMIN}/memberships", json={"user": MEMBER, "workspace_id": workspace}
        ).status_code
        == 201
    )
    message = refused(owner.send("DELETE", path), 409, "in_use")
    assert f"wmgw: {message}" == wmgw.refusal("workspace", "delete", workspace)
    deleted = owner.send("DELETE", path, params={"force": "true"})
    assert deleted.json()["removed"]["memberships"] == 1
    assert workspace not in [w["id"] for w in wmgw.json("workspace", "list")]
    empty = wmgw("workspace", "create", "Empty", "--plan", "free")
    assert owner.send("DELETE", f"{ADMIN}/workspaces/{empty}").status_code == 200
