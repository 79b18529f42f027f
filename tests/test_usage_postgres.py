"""`GET /usage` and `wmgw usage` on PostgreSQL, whose sessions need not be on UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Gateway, seed
from tests.fakes.server import serve_asgi
from tests.services.postgres import server_bin
from tests.test_postgres import settings_on
from tests.test_usage_cli import usage_json
from tests.usage_ledger import ledger_row, record, sums
from web.app import create_app

pytestmark = pytest.mark.skipif(server_bin() is None, reason="PostgreSQL is not installed")

TOKYO = "options=-c%20TimeZone%3DAsia%2FTokyo"  # nine hours ahead of UTC


def test_usage_on_postgres_is_by_utc_day_whatever_the_sessions_time_zone(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_on(f"{database_url}?{TOKYO}", tmp_path)
    user_id, workspace_id, key = seed(settings.database_url, settings.server_secret, None)
    with serve_asgi(create_app(settings)) as url:
        gateway = Gateway(f"{url}/api/openai/v1", key, settings, user_id, workspace_id)
        record(
            gateway,
            [
                ledger_row(gateway, at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC)),
                ledger_row(gateway, at=datetime(2026, 3, 2, 0, 30, tzinfo=UTC), messages=2),
            ],
        )
        gateway.client().chat.completions.create(
            model="writingmate/echo", messages=[{"role": "user", "content": "hi"}]
        )
        with gateway.http() as http:
            march = http.get(
                "/usage", params={"start_date": "2026-03-01", "end_date": "2026-03-02"}
            )
            recent = http.get("/usage").json()
    assert [(d["date"], d["messages"]) for d in march.json()["days"]] == [
        ("2026-03-01", 1),
        ("2026-03-02", 2),
    ]
    echoed = [row for row in gateway.ledger() if row["model"] == "writingmate/echo"]
    assert recent["totals"] == sums(echoed) and recent["totals"]["requests"] == 1
    by_model = usage_json(gateway, "--by", "model", "--workspace", workspace_id)
    assert by_model == [{**model, "workspace_id": workspace_id} for model in recent["models"]]
