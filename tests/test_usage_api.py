"""`GET /usage`: a workspace's usage per day and per model, as its members read it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain import keys
from storage import accounts
from tests.conftest import Gateway
from tests.test_http_errors import assert_openai_error
from tests.usage_ledger import ledger_row, record, sums

HELLO = [{"role": "user", "content": "Hello there!"}]
INVALID_RANGE = "invalid_date_range"


def get_usage(gateway: Gateway, key: str | None = None, **params: Any) -> dict[str, Any]:
    with gateway.http() as http:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = http.get("/usage", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def day_of(report: dict[str, Any], day: date) -> dict[str, Any]:
    [found] = [d for d in report["days"] if d["date"] == day.isoformat()]
    return {k: v for k, v in found.items() if k != "date"}


def by_model(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {m["model"]: {k: v for k, v in m.items() if k != "model"} for m in report["models"]}


def some_requests(gateway: Gateway) -> None:
    client = gateway.client()
    for _ in range(2):
        client.chat.completions.create(model="writingmate/echo", messages=HELLO)
    client.chat.completions.create(model="openai/gpt-5-mini", messages=HELLO)
    client.embeddings.create(model="writingmate/echo-embed", input=["one", "two"])


def test_usage_after_requests_on_several_models_equals_the_ledgers_sums(
    gateway: Gateway,
) -> None:
    some_requests(gateway)
    rows = gateway.ledger()
    report = get_usage(gateway)
    today = datetime.now(UTC).date()

    assert report["object"] == "usage" and report["workspace_id"] == gateway.workspace_id
    assert report["end_date"] == today.isoformat()
    assert report["start_date"] == (today - timedelta(days=29)).isoformat()
    assert [d["date"] for d in report["days"]][-1] == today.isoformat()
    assert len(report["days"]) == 30
    assert day_of(report, today) == sums(rows) == report["totals"]
    assert all(d["requests"] == 0 for d in report["days"][:-1])  # days without requests: zeros
    assert by_model(report) == {
        model: sums(r for r in rows if r["model"] == model)
        for model in ("openai/gpt-5-mini", "writingmate/echo", "writingmate/echo-embed")
    }
    assert report["totals"]["requests"] == 4 and report["totals"]["prompt_tokens"] > 0


def test_model_filters_the_usage(gateway: Gateway) -> None:
    some_requests(gateway)
    echo = [r for r in gateway.ledger() if r["model"] == "writingmate/echo"]
    report = get_usage(gateway, model="writingmate/echo")
    today = datetime.now(UTC).date()
    assert [m["model"] for m in report["models"]] == ["writingmate/echo"]
    assert report["totals"] == day_of(report, today) == sums(echo)
    assert report["totals"]["requests"] == 2
    assert get_usage(gateway, model="nobody/uses-this")["totals"]["requests"] == 0


def test_usage_is_grouped_by_utc_day_over_the_period_asked(gateway: Gateway) -> None:
    first, second = date(2026, 3, 1), date(2026, 3, 2)
    record(
        gateway,
        [
            ledger_row(gateway, at=datetime(2026, 2, 28, 23, 59, tzinfo=UTC)),  # before it
            ledger_row(gateway, at=datetime(2026, 3, 1, 0, 0, tzinfo=UTC), prompt_tokens=7),
            ledger_row(gateway, at=datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), messages=2),
            ledger_row(gateway, at=datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC), model="b/b"),
            ledger_row(gateway, at=datetime(2026, 3, 3, 0, 0, tzinfo=UTC)),  # after it
        ],
    )
    report = get_usage(gateway, start_date="2026-03-01", end_date="2026-03-02")
    assert [d["date"] for d in report["days"]] == ["2026-03-01", "2026-03-02"]
    assert day_of(report, first)["requests"] == 2 and day_of(report, first)["messages"] == 3
    assert day_of(report, first)["prompt_tokens"] == 7 + 10
    assert day_of(report, second)["requests"] == 1
    assert by_model(report)["b/b"]["requests"] == 1 and report["totals"]["requests"] == 3


def test_byok_requests_are_listed_with_their_tokens_but_count_no_messages(
    gateway: Gateway,
) -> None:
    now = datetime.now(UTC)
    record(
        gateway,
        [
            ledger_row(gateway, at=now, messages=1, prompt_tokens=100),
            ledger_row(gateway, at=now, messages=2, prompt_tokens=5000, byok=True),
        ],
    )
    totals = get_usage(gateway)["totals"]
    assert totals["requests"] == 2 and totals["byok_requests"] == 1
    assert totals["prompt_tokens"] == 5100
    assert totals["messages"] == 1


def test_a_failed_video_gives_its_seconds_back_and_its_refund_is_no_request(
    gateway: Gateway,
) -> None:
    now = datetime.now(UTC)
    record(
        gateway,
        [
            ledger_row(gateway, at=now, endpoint="videos", video_seconds=8),
            ledger_row(gateway, at=now, endpoint="videos", video_seconds=4),
            ledger_row(
                gateway, at=now, endpoint="videos", video_seconds=-4, status="refunded", messages=0
            ),
        ],
    )
    totals = get_usage(gateway)["totals"]
    assert (totals["requests"], totals["video_seconds"]) == (2, 8)


def other_member(gateway: Gateway, *, in_workspace: bool) -> str:
    """A key of another user: a member of the gateway's workspace, or only of their own."""
    new = keys.generate(gateway.settings.server_secret)

    async def work(conn: Any) -> None:
        user = await accounts.create_user(conn, f"{new.key_id}@example.com")
        workspace = gateway.workspace_id
        if not in_workspace:
            workspace = await accounts.create_workspace(conn, "Other", "team")
        await accounts.add_member(conn, user, workspace)
        await accounts.create_key(
            conn,
            key_id=new.key_id,
            user_id=user,
            secret_hash=new.secret_hash,
            name=None,
            expires_at=None,
        )

    gateway.db(work)
    return new.plaintext


def test_another_users_key_does_not_see_this_workspaces_usage(gateway: Gateway) -> None:
    some_requests(gateway)
    stranger = other_member(gateway, in_workspace=False)
    theirs = get_usage(gateway, key=stranger)
    assert theirs["workspace_id"] != gateway.workspace_id
    assert theirs["totals"]["requests"] == 0 and theirs["models"] == []
    with gateway.http() as http:
        response = http.get(
            "/usage",
            headers={
                "Authorization": f"Bearer {stranger}",
                "x-writingmate-workspace": gateway.workspace_id,
            },
        )
    assert assert_openai_error(response, 403)["code"] == "workspace_forbidden"


def test_every_member_sees_the_whole_workspaces_usage(gateway: Gateway) -> None:
    some_requests(gateway)
    colleague = other_member(gateway, in_workspace=True)
    assert get_usage(gateway, key=colleague) == get_usage(gateway)


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"start_date": "2026-02-30"}, "start_date", "invalid_value"),
        ({"end_date": "01/02/2026"}, "end_date", "invalid_value"),
        ({"start_date": ""}, "start_date", "invalid_value"),
        ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, "end_date", INVALID_RANGE),
        ({"start_date": "2025-01-01", "end_date": "2026-01-02"}, "start_date", INVALID_RANGE),
    ],
)
def test_bad_dates_and_inverted_ranges_are_400_in_openais_envelope(
    gateway: Gateway, params: dict[str, str], param: str, code: str
) -> None:
    with gateway.http() as http:
        response = http.get("/usage", params=params)
    error = assert_openai_error(response, 400)
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)


def test_a_whole_leap_year_is_one_report(gateway: Gateway) -> None:
    report = get_usage(gateway, start_date="2028-01-01", end_date="2028-12-31")
    assert len(report["days"]) == 366


def test_the_openai_sdk_reads_usage(gateway: Gateway) -> None:
    some_requests(gateway)
    client = gateway.client()
    report: Any = client.get(
        "/usage", cast_to=object, options={"params": {"model": "openai/gpt-5-mini"}}
    )
    assert report["totals"]["requests"] == 1
