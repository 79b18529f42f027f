"""The metering's books, driven through random interleavings of what happens to requests:
admitted, settled for what they used, refunded, left in flight by a process that died, swept
once their lease ran out, their progress recorded on the way. After every step the counters
equal the ledger (used) and the requests in flight (reserved), and no day's or pool's use is
ever above its limit.

The operations are the metering's own (storage/reservations.py and gateway/metering.py's
settlement), run on a real SQLite database, one transaction each, as the writer runs them."""

from __future__ import annotations

import secrets
import shutil
import time
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule
from sqlalchemy import Connection, func, select

from domain.charges import COMPLETED, INTERRUPTED, UPSTREAM_ERROR, Ending, messages_charged
from domain.metering import Usage
from domain.quota import MESSAGES, Counter, pool_period, quota_day
from gateway.auth import Caller
from gateway.metering import wants_for
from gateway.sweeps import settle_abandoned
from gateway.tickets import Claim, Route, Ticket, ledger_row
from storage import reservations
from storage.accounts import Pool
from storage.tables import ledger, quota_counters
from storage.tables import reservations as in_flight

DAILY_LIMIT = 12
POOL = Pool("pool_shared", "shared", 20, "none")
WORKSPACES = ("ws_one", "ws_two")
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TEMPLATE: Path | None = None


def caller(workspace: str) -> Caller:
    return Caller(
        request_id=f"req_{secrets.token_hex(8)}",
        user_id="user_1",
        key_id="key_1",
        workspace_id=workspace,
        plan="team",
        daily_message_limit=DAILY_LIMIT,
        pool=POOL,
    )


class Books(RuleBasedStateMachine):
    """The model: the tickets this 'process' holds, and those a dead one left behind."""

    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        assert TEMPLATE is not None
        self.engine = sqlalchemy.create_engine(f"sqlite:///{TEMPLATE}")
        with self.engine.begin() as conn:
            for table in (ledger, quota_counters, in_flight):
                conn.execute(table.delete())
        self.day: date = quota_day(NOW)
        self.admitted = 0
        self.now_ms = int(time.time() * 1000)

    def teardown(self) -> None:
        self.engine.dispose()

    def run(self, operation: Any) -> Any:
        with self.engine.begin() as conn:
            return operation(conn)

    @rule(
        target=tickets,
        workspace=st.sampled_from(WORKSPACES),
        prompt=st.integers(0, 60_000),
        max_output=st.integers(1, 200_000),
    )
    def admit(self, workspace: str, prompt: int, max_output: int) -> Any:
        who = caller(workspace)
        claim = Claim(prompt_tokens=prompt, max_output=max_output, lowerable=True)
        wants = wants_for(who, claim, self.day, NOW)
        record = reservations.InFlight(
            request_id=who.request_id,
            owner="this-process",
            lease_until=self.now_ms + 30_000,
            workspace_id=workspace,
            user_id=who.user_id,
            key_id=who.key_id,
            endpoint="chat.completions",
            model="writingmate/echo",
            provider="writingmate",
            byok=False,
            quota_day=self.day,
            created_at=NOW,
        )
        granted = self.run(lambda conn: reservations.admit(conn, record, wants))
        if isinstance(granted, reservations.Refused):
            return None
        self.admitted += 1
        ticket = Ticket(
            None,  # type: ignore[arg-type]  # settled here, not by a Meter
            who,
            Route("chat.completions", "writingmate/echo", "writingmate"),
            False,
            self.day,
            granted,
            claim,
        )
        return ticket

    @rule(
        ticket=consumes(tickets),
        share=st.floats(0, 1),
        status=st.sampled_from([COMPLETED, INTERRUPTED, UPSTREAM_ERROR]),
    )
    def settle(self, ticket: Ticket | None, share: float, status: str) -> None:
        """A request ends having used some of what it was granted (the upstream keeps to the
        output allowance the gateway sent)."""
        if ticket is None:
            return
        granted = ticket.reserved(MESSAGES)
        room = max(0, granted * 16_000 - ticket.claim.prompt_tokens)
        usage = Usage(ticket.claim.prompt_tokens, int(room * share))
        ending = Ending(status, 200, usage, delivered=status != UPSTREAM_ERROR)
        messages = messages_charged(ending)
        row = ledger_row(ticket, ending, messages, 0)
        holds = [hold for hold, _ in ticket.holds]
        settled = self.run(lambda conn: reservations.settle(conn, holds, {MESSAGES: messages}, row))
        assert settled is not None  # nobody swept it: its lease was still running

    @rule(ticket=consumes(tickets), completion=st.integers(0, 20_000))
    def die_mid_request(self, ticket: Ticket | None, completion: int) -> None:
        """Its process records its progress once, then dies; its lease runs out."""
        if ticket is None:
            return
        progress = {
            "r": ticket.request_id,
            "prompt": ticket.claim.prompt_tokens,
            "completion": min(completion, ticket.claim.max_output),
            "cached": 0,
        }
        self.run(lambda conn: reservations.renew(conn, "this-process", self.now_ms, [progress]))
        self.run(
            lambda conn: conn.execute(
                in_flight.update()
                .where(in_flight.c.request_id == ticket.request_id)
                .values(lease_until=self.now_ms - 1, owner="a-dead-process")
            )
        )

    @rule()
    def sweep(self) -> None:
        expired = self.run(lambda conn: reservations.expired(conn, self.now_ms, 100))
        for record in expired:
            sweep = partial(settle_abandoned, record=record, now_ms=self.now_ms)
            assert self.run(sweep)
            assert not self.run(sweep)  # a second sweeper finds nothing left to settle

    # ------------------------------------------------------------------ the books

    def counters(self, conn: Connection) -> dict[tuple[str, str], Counter]:
        rows = conn.execute(select(quota_counters)).all()
        return {(r.subject, r.period): Counter(None, r.used, r.reserved) for r in rows}

    @invariant()
    def used_equals_the_ledger_and_reserved_equals_what_is_in_flight(self) -> None:
        with self.engine.connect() as conn:
            counters = self.counters(conn)
            held: dict[tuple[str, str], int] = {}
            for (holds,) in conn.execute(select(in_flight.c.holds)).all():
                for subject, _, period, n in holds:
                    held[(subject, period)] = held.get((subject, period), 0) + n
            charged = dict(
                conn.execute(
                    select(ledger.c.workspace_id, func.sum(ledger.c.messages)).group_by(
                        ledger.c.workspace_id
                    )
                ).all()
            )
        day = self.day.isoformat()
        pool_key = (POOL.id, pool_period(POOL.renewal, NOW))
        for workspace in WORKSPACES:
            counter = counters.get((workspace, day), Counter(None, 0, 0))
            assert counter.used == (charged.get(workspace) or 0)
            assert counter.reserved == held.get((workspace, day), 0)
            assert counter.used + counter.reserved <= DAILY_LIMIT
        pool = counters.get(pool_key, Counter(None, 0, 0))
        assert pool.used == sum(int(v or 0) for v in charged.values())
        assert pool.reserved == held.get(pool_key, 0)
        assert pool.used + pool.reserved <= POOL.messages

    @invariant()
    def one_ledger_row_per_request_settled(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(select(func.count(), func.count(ledger.c.request_id.distinct())))
            total, distinct = rows.one()
            waiting = conn.execute(select(func.count()).select_from(in_flight)).scalar()
        assert total == distinct
        assert total + waiting <= self.admitted


def test_the_books_balance_whatever_happens_to_requests(
    migrated_template: Path, tmp_path: Path
) -> None:
    global TEMPLATE
    TEMPLATE = tmp_path / "books.db"
    shutil.copy(migrated_template, TEMPLATE)
    Books.TestCase.settings = settings(
        max_examples=60,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    Books.TestCase().runTest()
