"""Usage tag: `GET /usage`, the caller's workspace's requests, tokens and messages per day and
per model."""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.services import Services
from usecases.usage import caller_usage


def _date(value: str | None) -> date | None:
    # The spec has already checked `format: date`.
    return date.fromisoformat(value) if value else None


async def get_usage(
    services: Services,
    token_info: dict[str, Any],
    start_date: str | None = None,
    end_date: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    caller = token_info["caller"]
    return await caller_usage(services, caller, _date(start_date), _date(end_date), model)
