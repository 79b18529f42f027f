"""The console's JSON actions and its rules, over plain HTTP: signing in (CSRF, rate limits,
cookies), keys that are the API's keys, workspaces and usage seen only by their members, the
own OpenRouter key never shown back, and admin actions for site admins only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.console_site import MEMBER, OWNER, PASSWORD, ConsoleSite, console_site, page_token


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    with console_site(tmp_path_factory.mktemp("console")) as running:
        yield running


def test_bootstrap_prints_the_console_url_and_a_one_time_password(tmp_path: Path) -> None:
    from tests.cli_runner import wmgw_on

    wmgw = wmgw_on(tmp_path)
    printed = wmgw("bootstrap")
    assert "http://127.0.0.1:8000/console" in printed
    assert "Sign in as owner@localhost with this one-time password" in printed
    assert "wmgw user set-password owner@localhost" in printed


def test_set_password_refuses_a_short_one(console: ConsoleSite) -> None:
    refusal = console.site.wmgw.refusal("user", "set-password", MEMBER)  # empty stdin
    assert "at least 10 characters" in refusal


def test_pages_send_a_visitor_without_a_session_to_sign_in(console: ConsoleSite) -> None:
    with console.browser() as client:
        for page in ("/console/keys", "/console/workspaces", "/console/byok", "/console/admin"):
            answer = client.get(page)
            assert (answer.status_code, answer.headers["location"]) == (303, "/console/sign-in")
        refused = client.get("/console/api/keys")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_session"


def test_signing_in_needs_the_sign_in_pages_token(console: ConsoleSite) -> None:
    with console.browser() as client:
        body = {"email": OWNER, "password": PASSWORD}
        refused = client.post("/console/api/session", json=body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
        forged = client.post("/console/api/session", json=body, headers={"x-csrf-token": "x"})
        assert forged.status_code == 403
        token = page_token(client, "/console/sign-in")
        signed_in = client.post("/console/api/session", json=body, headers={"x-csrf-token": token})
        assert signed_in.status_code == 200
        cookie = signed_in.headers["set-cookie"]
        assert "wmgw_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Path=/console" in cookie and "Secure" not in cookie  # plain http here
        assert client.get("/console/keys").status_code == 200


def test_a_wrong_password_reads_like_an_unknown_email(console: ConsoleSite) -> None:
    with console.browser() as client:
        token = page_token(client, "/console/sign-in")
        answers = [
            client.post(
                "/console/api/session",
                json={"email": email, "password": "not the password"},
                headers={"x-csrf-token": token},
            )
            for email in (MEMBER, "nobody@example.com")
        ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json() == answers[1].json()
    assert "wmgw_session" not in answers[0].headers.get("set-cookie", "")


def test_sign_in_attempts_are_limited_per_email(console: ConsoleSite) -> None:
    with console.browser() as client:
        token = page_token(client, "/console/sign-in")
        statuses = []
        for _ in range(11):
            answer = client.post(
                "/console/api/session",
                json={"email": "guesser@example.com", "password": "guess guess guess"},
                headers={"x-csrf-token": token},
            )
            statuses.append(answer.status_code)
    assert statuses == [401] * 10 + [429]
    assert answer.json()["error"]["code"] == "sign_in_rate_limited"
    assert int(answer.headers["retry-after"]) > 0


def test_a_tampered_cookie_is_refused(console: ConsoleSite) -> None:
    session = console.signed_in(MEMBER)
    cookie = session.client.cookies["wmgw_session"]
    raw, signature = cookie.rsplit(".", 1)
    other = "B" if raw.endswith("A") else "A"  # always a different session id
    session.client.cookies.set("wmgw_session", f"{raw[:-1]}{other}.{signature}", path="/console")
    assert session.send("GET", "/console/api/keys").status_code == 401
    assert session.client.get("/console/keys").status_code == 303


def test_a_post_without_the_csrf_token_is_refused(console: ConsoleSite) -> None:
    session = console.signed_in(MEMBER)
    refused = session.client.post("/console/api/keys", json={"name": "no token"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    names = [key["name"] for key in session.send("GET", "/console/api/keys").json()["data"]]
    assert "no token" not in names


def test_a_console_key_is_an_api_key_until_revoked(console: ConsoleSite) -> None:
    session = console.signed_in(MEMBER)
    made = session.send("POST", "/console/api/keys", json={"name": "laptop", "expires_in_days": 7})
    assert made.status_code == 201
    key = made.json()["key"]
    assert made.json()["base_url"] == console.site.url
    client = openai.OpenAI(base_url=console.site.url, api_key=key, max_retries=0)
    assert "writingmate/echo" in [model.id for model in client.models.list()]
    listed = console.site.wmgw.json("key", "list", "--user", MEMBER)
    assert made.json()["id"] in [row["id"] for row in listed]  # the same keys as wmgw's
    assert key not in session.send("GET", "/console/api/keys").text  # shown once only

    revoked = session.send("DELETE", f"/console/api/keys/{made.json()['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_another_users_key_cannot_be_revoked(console: ConsoleSite) -> None:
    owner_key = console.site.wmgw("key", "create", OWNER, "--name", "owner's")
    member = console.signed_in(MEMBER)
    refused = member.send("DELETE", f"/console/api/keys/{owner_key.split('.')[1]}")
    assert refused.status_code == 404
    assert console.site.status(owner_key) == 200


def test_a_member_sees_only_their_own_workspaces(console: ConsoleSite) -> None:
    member = console.signed_in(MEMBER)
    listed = member.send("GET", "/console/api/workspaces").json()["data"]
    assert [(w["id"], w["plan"], w["messages_remaining"]) for w in listed] == [
        (console.member_workspace, "free", 100)
    ]
    other = member.send("GET", f"/console/api/workspaces/{console.owner_workspace}/usage")
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "workspace_forbidden"
    switch = member.send(
        "PUT", "/console/api/workspaces/current", json={"workspace_id": console.owner_workspace}
    )
    assert switch.status_code == 403


def test_usage_is_the_apis(console: ConsoleSite) -> None:
    key = console.site.wmgw("key", "create", OWNER)
    console.site.chat(key)
    owner = console.signed_in(OWNER)
    seen = owner.send("GET", f"/console/api/workspaces/{console.owner_workspace}/usage").json()
    api = openai.OpenAI(base_url=console.site.url, api_key=key, max_retries=0)
    assert seen == api.get("/usage", cast_to=object)
    assert seen["totals"]["requests"] >= 1
    listed = owner.send("GET", "/console/api/workspaces").json()["data"]
    assert listed[0]["messages_remaining"] is None  # the team plan: unlimited


def test_the_own_openrouter_key_is_never_shown_back(console: ConsoleSite) -> None:
    member = console.signed_in(MEMBER)
    secret = "sk-or-v1-0123456789abcdefWXYZ"
    stored = member.send("PUT", "/console/api/own-key", json={"key": secret})
    assert stored.json() == {"provider": "openrouter", "stored": True, "last_four": "WXYZ"}
    assert console.site.wmgw("byok", "list", MEMBER) == "openrouter"  # as wmgw byok set
    assert secret not in member.client.get("/console/byok").text
    assert member.send("DELETE", "/console/api/own-key").json()["stored"] is False
    assert member.send("DELETE", "/console/api/own-key").status_code == 404


def test_only_site_admins_reach_the_admin_pages(console: ConsoleSite) -> None:
    member = console.signed_in(MEMBER)
    assert member.client.get("/console/admin").status_code == 403
    refused = member.send("POST", "/console/api/admin/users", json={"email": "x@example.com"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_only"
    owner = console.signed_in(OWNER)
    assert owner.client.get("/console/admin").status_code == 200


def test_admin_actions_follow_the_clis_rules(console: ConsoleSite) -> None:
    owner = console.signed_in(OWNER)
    bad = owner.send("POST", "/console/api/admin/users", json={"email": "not an email"})
    assert bad.status_code == 400
    twice = owner.send("POST", "/console/api/admin/users", json={"email": MEMBER})
    assert twice.status_code == 409
    made = owner.send("POST", "/console/api/admin/users", json={"email": "new@example.com"})
    assert made.status_code == 201
    workspace = owner.send(
        "POST", "/console/api/admin/workspaces", json={"name": "Lab", "plan": "pro"}
    ).json()["id"]
    added = owner.send(
        "POST",
        "/console/api/admin/memberships",
        json={"user": "new@example.com", "workspace_id": workspace, "role": "owner"},
    )
    assert added.status_code == 201
    again = owner.send(
        "POST",
        "/console/api/admin/memberships",
        json={"user": "new@example.com", "workspace_id": workspace},
    )
    assert again.status_code == 409
    listed = console.site.wmgw.json("member", "list", "--workspace", workspace)
    assert [(m["email"], m["role"]) for m in listed] == [("new@example.com", "owner")]


def test_signing_out_ends_the_session_everywhere(console: ConsoleSite) -> None:
    session = console.signed_in(MEMBER)
    cookie = session.client.cookies["wmgw_session"]
    assert session.send("DELETE", "/console/api/session").status_code == 204
    with console.browser() as elsewhere:
        elsewhere.cookies.set("wmgw_session", cookie, path="/console")
        assert elsewhere.get("/console/api/keys").status_code == 401
