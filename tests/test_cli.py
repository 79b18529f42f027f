"""`wmgw`, the management CLI, as an operator uses it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.bootstrap import bootstrap
from gateway.settings import Settings
from storage import accounts
from tests.conftest import run_db, seed
from tests.fakes.server import serve_asgi


def test_operator_sets_up_a_team_and_the_key_works(wmgw) -> None:  # type: ignore[no-untyped-def]
    wmgw("plan", "create", "pro", "--daily-messages", "5")
    workspace = wmgw("workspace", "create", "Acme", "--plan", "pro")
    user = wmgw("user", "create", "ana@acme.test", "--workspace", workspace)
    key = wmgw("key", "create", "ana@acme.test", "--name", "laptop")
    assert key.startswith("wm_v2.") and "\n" not in key
    assert user.startswith("user_") and workspace.startswith("ws_")

    settings = Settings.from_env(wmgw.env)
    with serve_asgi(create_app(settings)) as url:
        response = httpx.post(
            f"{url}/api/openai/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "writingmate/echo", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 200
    assert response.headers["x-writingmate-messages-remaining"] == "4"

    listing = wmgw("key", "list")
    assert "laptop" in listing and key not in listing
    usage = wmgw("usage", "--workspace", workspace)
    assert workspace in usage and " 1 " in f" {usage} "

    key_id = key.split(".")[1]
    assert "revoked" in wmgw("key", "revoke", key_id)
    assert wmgw("key", "revoke", key_id, ok=False) == ""


def test_bootstrap_prints_a_key_once_then_how_to_make_another(wmgw) -> None:  # type: ignore[no-untyped-def]
    first = wmgw("bootstrap")
    assert "wm_v2." in first and "curl" in first and "OpenAI(base_url=" in first
    again = wmgw("bootstrap")
    assert "wm_v2." not in again
    assert "    wmgw key create owner@localhost\n" in again
    assert wmgw("key", "create", "owner@localhost").startswith("wm_v2.")  # what it says works


def test_bootstrap_on_a_database_seeded_otherwise_names_no_user(
    tmp_path: Path, migrated_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    settings = Settings.from_env({"WMGW_DATA_DIR": str(tmp_path), "WMGW_SERVER_SECRET": "s"})
    seed(settings.database_url, settings.server_secret, None)  # dev@example.com and a key

    assert asyncio.run(bootstrap(settings)) == 0
    printed = capsys.readouterr().out
    assert "    wmgw key create <email>\n" in printed and "wmgw user list" in printed
    assert "wm_v2." not in printed
    users = run_db(settings.database_url, accounts.list_users)
    assert [user["email"] for user in users] == ["dev@example.com"]  # nobody was added


def test_membership_and_current_workspace(wmgw) -> None:  # type: ignore[no-untyped-def]
    wmgw("plan", "create", "team")
    first = wmgw("workspace", "create", "One", "--plan", "team")
    second = wmgw("workspace", "create", "Two", "--plan", "team")
    wmgw("user", "create", "bo@x.test", "--workspace", first)
    wmgw("user", "use", "bo@x.test", second, ok=False)
    wmgw("member", "add", "bo@x.test", second)
    wmgw("user", "use", "bo@x.test", second)
    assert second in wmgw("user", "list")


def test_operator_sets_rate_limits_on_a_plan_and_on_a_key(wmgw) -> None:  # type: ignore[no-untyped-def]
    wmgw("plan", "create", "pro")
    wmgw("plan", "set-key-limits", "pro", "--rpm", "60", "--tpm", "90000")
    workspace = wmgw("workspace", "create", "Acme", "--plan", "pro")
    wmgw("user", "create", "ana@acme.test", "--workspace", workspace)
    key = wmgw("key", "create", "ana@acme.test", "--rpm", "3")
    key_id = key.split(".")[1]
    [row] = [line.split() for line in wmgw("key", "list").splitlines() if key_id in line]
    assert row[-2:] == ["3", "-"]  # its own rpm; tokens from the plan
    assert "90000" in wmgw("plan", "list")

    def limits() -> tuple[str, str]:
        with serve_asgi(create_app(Settings.from_env(wmgw.env))) as url:
            response = httpx.get(
                f"{url}/api/openai/v1/models", headers={"Authorization": f"Bearer {key}"}
            )
        return (
            response.headers["x-ratelimit-limit-requests"],
            response.headers["x-ratelimit-limit-tokens"],
        )

    assert limits() == ("3", "90000")
    wmgw("key", "set-limits", key_id)  # none of its own: the plan's default
    assert limits() == ("60", "90000")
    wmgw("key", "set-limits", "key_nope", "--rpm", "5", ok=False)
    wmgw("key", "create", "ana@acme.test", "--tpm", "0", ok=False)
