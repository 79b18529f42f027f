"""Requests whose process died, settled by whichever process sweeps first once their lease
ran out, for the usage they had reported at their last renewal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.charges import ABANDONED, Ending, messages_charged
from domain.metering import Usage, cached_discount
from domain.quota import MESSAGES, Hold
from storage import reservations
from storage.usage import LedgerRow


def settle_abandoned(conn: Any, record: dict[str, Any], now_ms: int) -> bool:
    """Settle a request whose process died, for what it had reported at its last renewal."""
    if not reservations.take_expired(conn, record["request_id"], now_ms):
        return False
    usage = Usage(
        prompt_tokens=record["prompt_tokens"],
        completion_tokens=record["completion_tokens"],
        cached_tokens=record["cached_tokens"],
        estimated=True,
    )
    ending = Ending(ABANDONED, 0, usage)
    messages = messages_charged(ending, byok=record["byok"])
    row = LedgerRow(
        request_id=record["request_id"],
        user_id=record["user_id"],
        workspace_id=record["workspace_id"],
        key_id=record["key_id"],
        model=record["model"],
        provider=record["provider"],
        endpoint=record["endpoint"],
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens,
        cached_discount=cached_discount(usage),
        messages=messages,
        usage_estimated=True,
        byok=record["byok"],
        status=ABANDONED,
        http_status=0,
        duration_ms=max(0, now_ms - int(_aware(record["created_at"]).timestamp() * 1000)),
        created_at=datetime.now(UTC),
        quota_day=record["quota_day"],
    )
    holds = [Hold.of_row(hold) for hold in record["holds"]]
    reservations.settle_taken(conn, holds, {MESSAGES: messages}, row)
    return True


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
