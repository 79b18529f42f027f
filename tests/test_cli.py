"""`wmgw`, the management CLI, as an operator uses it (run in-process: tests/cli_runner.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import click
import httpx
import pytest

from cli import cli
from tests.cli_runner import Wmgw, wmgw_on
from tests.conftest import WMGW
from tests.fakes.server import serve_asgi
from web.app import create_app

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


@pytest.fixture
def wmgw(tmp_path: Path) -> Wmgw:
    return wmgw_on(tmp_path, {"WMGW_KEY_CACHE_SECONDS": "0"})


def commands(group: click.Group = cli, path: str = "wmgw") -> list[tuple[str, click.Command]]:
    """Every command under `group`, groups included, with the words that call it."""
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((f"{path} {name}", command))
        if isinstance(command, click.Group):
            found.extend(commands(command, f"{path} {name}"))
    return found


def test_every_command_and_option_has_help_text() -> None:
    undocumented = [
        f"{path} {param.opts[0] if isinstance(param, click.Option) else ''}".strip()
        for path, command in commands()
        for param in [None, *command.params]
        if (param is None and not command.help)
        or (isinstance(param, click.Option) and not param.help)
    ]
    assert undocumented == []


def test_every_command_prints_json_when_asked() -> None:
    leaves = [path for path, c in commands() if not isinstance(c, click.Group)]
    without = [path for path, c in commands() if path in leaves and "--json" not in _opts(c)]
    assert len(leaves) > 30 and without == []


def _opts(command: click.Command) -> list[str]:
    return [opt for param in command.params for opt in param.opts]


def test_the_console_script_and_python_m_give_the_version() -> None:
    expected = f"wmgw, version {version('writingmate-gateway')}"
    for command in ([str(WMGW)], [sys.executable, "-m", "cli"]):
        done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout.strip()) == (0, expected), done.stderr


def test_operator_sets_up_a_team_and_the_key_works(wmgw: Wmgw) -> None:
    wmgw("plan", "create", "pro", "--daily-messages", "5")
    workspace = wmgw("workspace", "create", "Acme", "--plan", "pro")
    user = wmgw("user", "create", "ana@acme.test", "--workspace", workspace)
    key = wmgw("key", "create", "ana@acme.test", "--name", "laptop")
    assert key.startswith("wm_v2.") and "\n" not in key
    assert user.startswith("user_") and workspace.startswith("ws_")

    with serve_asgi(create_app(wmgw.settings)) as url:
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
    assert "was revoked already" in wmgw.refusal("key", "revoke", key_id)


def test_bootstrap_prints_a_key_once_then_how_to_make_another(wmgw: Wmgw) -> None:
    first = wmgw("bootstrap")
    assert "wm_v2." in first and "curl" in first and "OpenAI(base_url=" in first
    again = wmgw("bootstrap")
    assert "wm_v2." not in again
    assert "    wmgw key create owner@localhost\n" in again + "\n"
    assert wmgw.json("bootstrap") == {"created": False, "owner": "owner@localhost"}
    assert wmgw.json("migrate")["revision"]
    assert wmgw("key", "create", "owner@localhost").startswith("wm_v2.")  # what it says works


def test_bootstrap_on_a_database_seeded_otherwise_names_no_user(wmgw: Wmgw) -> None:
    wmgw("plan", "create", "team")
    workspace = wmgw("workspace", "create", "Acme", "--plan", "team")
    wmgw("user", "create", "dev@example.com", "--workspace", workspace)
    wmgw("key", "create", "dev@example.com")

    printed = wmgw("bootstrap")
    assert "    wmgw key create <email>" in printed and "wmgw user list" in printed
    assert "wm_v2." not in printed
    assert [user["email"] for user in wmgw.json("user", "list")] == ["dev@example.com"]


def test_membership_and_current_workspace(wmgw: Wmgw) -> None:
    wmgw("plan", "create", "team")
    first = wmgw("workspace", "create", "One", "--plan", "team")
    second = wmgw("workspace", "create", "Two", "--plan", "team")
    wmgw("user", "create", "bo@x.test", "--workspace", first)
    assert "not a member of" in wmgw.refusal("user", "use", "bo@x.test", second)
    wmgw("member", "add", "bo@x.test", second)
    wmgw("user", "use", "bo@x.test", second)
    assert second in wmgw("user", "list")


def test_operator_sets_rate_limits_on_a_plan_and_on_a_key(wmgw: Wmgw) -> None:
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
        with serve_asgi(create_app(wmgw.settings)) as url:
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
    assert "no key 'key_nope'" in wmgw.refusal("key", "set-limits", "key_nope", "--rpm", "5")
    assert "--tpm" in wmgw.refusal("key", "create", "ana@acme.test", "--tpm", "0", status=2)


def test_json_output_carries_the_facts_of_the_text_output(wmgw: Wmgw) -> None:
    plan = wmgw.json("plan", "create", "pro", "--daily-messages", "5", "--daily-images", "2")
    assert plan | {"created_at": None} == {
        "name": "pro",
        "daily_message_limit": 5,
        "daily_image_limit": 2,
        "monthly_video_seconds": None,
        "key_rpm_limit": None,
        "key_tpm_limit": None,
        "created_at": None,
    }
    workspace = wmgw.json("workspace", "create", "Acme", "--plan", "pro")
    assert (workspace["name"], workspace["plan"], workspace["members"]) == ("Acme", "pro", 0)
    user = wmgw.json("user", "create", "ana@acme.test", "--workspace", workspace["id"])
    assert user["current_workspace_id"] == workspace["id"]
    made = wmgw.json("key", "create", "ana@acme.test", "--name", "ci", "--expires-in-days", "2")
    assert made["key"].split(".")[1] == made["id"] and made["email"] == "ana@acme.test"

    assert [p["name"] for p in wmgw.json("plan", "list")] == ["pro"]
    assert [w["id"] for w in wmgw.json("workspace", "list")] == [workspace["id"]]
    assert [u["email"] for u in wmgw.json("user", "list")] == ["ana@acme.test"]
    [listed] = wmgw.json("key", "list", "--user", "ana@acme.test")
    assert "key" not in listed and listed == {k: v for k, v in made.items() if k != "key"}
    assert wmgw.json("usage", "--workspace", workspace["id"], "--days", "1")[0]["requests"] == 0
    assert wmgw.json("byok", "list", "ana@acme.test") == []


def test_times_are_printed_in_utc_with_their_offset(wmgw: Wmgw) -> None:
    wmgw("user", "create", "ana@acme.test")
    wmgw("key", "create", "ana@acme.test", "--expires-in-days", "1")
    [key] = wmgw.json("key", "list")
    assert ISO_UTC.fullmatch(key["created_at"]) and ISO_UTC.fullmatch(key["expires_at"])
    header, row = wmgw("key", "list").splitlines()
    cells = dict(zip(header.split(), row.split(), strict=True))
    assert ISO_UTC.fullmatch(cells["created_at"]) and ISO_UTC.fullmatch(cells["expires_at"])
    assert ISO_UTC.fullmatch(wmgw("user", "list").splitlines()[1].split()[-1])


def test_unknown_names_are_refused_in_plain_words(wmgw: Wmgw) -> None:
    assert wmgw.refusal("workspace", "create", "Acme", "--plan", "nosuch") == (
        "wmgw: no plan 'nosuch' (`wmgw plan list` shows them)"
    )
    wmgw("plan", "create", "pro")
    workspace = wmgw("workspace", "create", "Acme", "--plan", "pro")
    nowhere = "wmgw: no workspace 'ws_nosuch' (`wmgw workspace list` shows them)"
    assert wmgw.refusal("user", "create", "ana@acme.test", "--workspace", "ws_nosuch") == nowhere
    assert wmgw.json("user", "list") == []  # nothing half-made
    wmgw("user", "create", "ana@acme.test")
    assert wmgw.refusal("member", "add", "ana@acme.test", "ws_nosuch") == nowhere
    assert wmgw.refusal("user", "use", "ana@acme.test", "ws_nosuch") == nowhere
    assert wmgw.refusal("usage", "--workspace", "ws_nosuch") == nowhere
    assert wmgw.refusal("member", "list", "--workspace", "ws_nosuch") == nowhere
    nobody = "wmgw: no user 'bo@acme.test' (`wmgw user list` shows them)"
    assert wmgw.refusal("member", "add", "bo@acme.test", workspace) == nobody
    assert wmgw.refusal("key", "create", "bo@acme.test") == nobody
    assert wmgw.refusal("plan", "set-limit", "nosuch", "--daily-messages", "1").startswith(
        "wmgw: no plan 'nosuch'"
    )


def test_bad_emails_unknown_roles_and_out_of_range_values_are_refused(wmgw: Wmgw) -> None:
    assert (
        wmgw.refusal("user", "create", "notanemail") == "wmgw: not an email address: 'notanemail'"
    )
    for bad in ("a b@x.test", "a@", "@x.test", "a@x@y.test", "a@-x.test"):
        wmgw.refusal("user", "create", bad)
    wmgw("user", "create", "owner@localhost")
    wmgw("plan", "create", "pro")
    workspace = wmgw("workspace", "create", "Acme", "--plan", "pro")
    said = wmgw.refusal(
        "member", "add", "owner@localhost", workspace, "--role", "superhero", status=2
    )
    assert "'superhero' is not one of 'owner', 'member'" in said
    assert wmgw.json("member", "list") == []
    wmgw.refusal("plan", "create", "free", "--daily-messages", "-5", status=2)
    assert "at most 64 characters" in wmgw.refusal("plan", "create", "p" * 65, status=2)
    wmgw.refusal("key", "create", "owner@localhost", "--expires-in-days", "99999999", status=2)
    assert [plan["name"] for plan in wmgw.json("plan", "list")] == ["pro"]


def test_duplicates_are_named_instead_of_database_errors(wmgw: Wmgw) -> None:
    wmgw("plan", "create", "pro")
    assert wmgw.refusal("plan", "create", "pro") == "wmgw: a plan named 'pro' exists already"
    workspace = wmgw("workspace", "create", "Acme", "--plan", "pro")
    user = wmgw("user", "create", "ana@acme.test", "--workspace", workspace)
    assert wmgw.refusal("user", "create", "ana@acme.test") == (
        f"wmgw: a user with email 'ana@acme.test' exists already ({user})"
    )
    assert wmgw.refusal("member", "add", user, workspace) == (
        f"wmgw: {user} is already a member of {workspace} (as owner)"
    )
