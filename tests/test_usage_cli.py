"""`wmgw usage`: the operator's view of the ledger, with the numbers `GET /usage` answers."""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from storage import accounts
from tests.cli_runner import Wmgw
from tests.conftest import Gateway
from tests.usage_ledger import TOTALS, ledger_row, record, sums

HELLO = [{"role": "user", "content": "Hello there!"}]


def wmgw_on(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    """`wmgw` on the gateway's own database (in-process: tests/cli_runner.py), with the exit
    status and the two outputs a shell would see."""
    done = Wmgw(gateway.settings).run(*args)
    return subprocess.CompletedProcess(list(args), done.exit_code, done.stdout, done.stderr)


def usage_json(gateway: Gateway, *args: str) -> list[dict[str, Any]]:
    done = wmgw_on(gateway, "usage", "--json", *args)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def colleague_key(gateway: Gateway) -> tuple[str, str]:
    """A second member of the gateway's workspace, and a key of theirs."""
    user_id = gateway.db(lambda conn: accounts.create_user(conn, "colleague@example.com"))
    gateway.db(lambda conn: accounts.add_member(conn, user_id, gateway.workspace_id))
    return user_id, gateway.new_key(user_id, name="colleague's")


def traffic(gateway: Gateway) -> None:
    """Requests on two models with three keys of two users, and one on a user's own key."""
    gateway.client().chat.completions.create(model="writingmate/echo", messages=HELLO)
    gateway.client().embeddings.create(model="writingmate/echo-embed", input="one")
    ci = gateway.new_key(name="ci")
    gateway.client(ci).chat.completions.create(model="openai/gpt-5-mini", messages=HELLO)
    _, theirs = colleague_key(gateway)
    gateway.client(theirs).chat.completions.create(model="writingmate/echo", messages=HELLO)
    now = datetime.now(UTC)
    record(gateway, [ledger_row(gateway, at=now, model="openai/gpt-5-mini", byok=True)])


def grouped(rows: list[dict[str, Any]], column: str) -> dict[str, dict[str, int]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[column]].append(row)
    return {name: sums(group) for name, group in groups.items()}


def numbers(row: dict[str, Any]) -> dict[str, int]:
    return {name: row[name] for name in TOTALS}


def test_wmgw_usage_json_by_day_model_key_and_user_agree_with_the_endpoint_and_the_ledger(
    gateway: Gateway,
) -> None:
    traffic(gateway)
    ledger = gateway.ledger()
    with gateway.http() as http:
        report = http.get("/usage").json()
    workspace = ("--workspace", gateway.workspace_id)

    by_day = usage_json(gateway, *workspace)
    assert by_day == [{**day, "workspace_id": gateway.workspace_id} for day in report["days"]]
    by_model = usage_json(gateway, "--by", "model", *workspace)
    assert by_model == [{**m, "workspace_id": gateway.workspace_id} for m in report["models"]]

    by_key = usage_json(gateway, "--by", "key", *workspace)
    assert {row["key_id"]: numbers(row) for row in by_key} == grouped(ledger, "key_id")
    assert sorted(row["key_name"] for row in by_key) == ["ci", "colleague's", "test"]
    by_user = usage_json(gateway, "--by", "user", *workspace)
    assert {row["user_id"]: numbers(row) for row in by_user} == grouped(ledger, "user_id")
    assert {row["email"] for row in by_user} == {"dev@example.com", "colleague@example.com"}

    assert report["totals"] == sums(ledger)
    for rows in (by_day, by_model, by_key, by_user):
        assert {name: sum(row[name] for row in rows) for name in TOTALS} == report["totals"]
    assert report["totals"]["byok_requests"] == 1 and report["totals"]["requests"] == 5


def test_wmgw_usage_across_workspaces_lists_the_days_each_one_was_used(gateway: Gateway) -> None:
    other = gateway.db(lambda conn: accounts.create_workspace(conn, "Other", "team"))
    record(
        gateway,
        [
            ledger_row(gateway, at=datetime(2026, 3, 1, 12, tzinfo=UTC)),
            ledger_row(gateway, at=datetime(2026, 3, 3, 12, tzinfo=UTC), workspace_id=other),
        ],
    )
    period = ("--since", "2026-03-01", "--until", "2026-03-03")
    rows = usage_json(gateway, *period)
    assert [(row["date"], row["workspace_id"]) for row in rows] == [
        ("2026-03-01", gateway.workspace_id),
        ("2026-03-03", other),
    ]
    one = usage_json(gateway, "--workspace", other, *period)
    assert [row["requests"] for row in one] == [0, 0, 1]


def test_wmgw_usage_table_names_keys_and_their_owners(gateway: Gateway) -> None:
    gateway.client().chat.completions.create(model="writingmate/echo", messages=HELLO)
    done = wmgw_on(gateway, "usage", "--by", "key")
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.split()[:4] == ["key_id", "key_name", "email", "workspace_id"]
    assert row.split()[:4] == [
        gateway.key.split(".")[1],
        "test",
        "dev@example.com",
        gateway.workspace_id,
    ]


def test_wmgw_usage_of_an_unknown_workspace_exits_1_with_a_message(gateway: Gateway) -> None:
    done = wmgw_on(gateway, "usage", "--workspace", "ws_nobody")
    assert (done.returncode, done.stdout) == (1, "")
    assert "no workspace 'ws_nobody'" in done.stderr


def test_wmgw_usage_refuses_a_period_that_ends_before_it_starts(gateway: Gateway) -> None:
    done = wmgw_on(gateway, "usage", "--since", "2026-03-02", "--until", "2026-03-01")
    assert done.returncode == 1 and "ends (2026-03-01) before it starts" in done.stderr
