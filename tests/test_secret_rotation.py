"""Rotating the server secret (SECURITY.md): developer keys signed under the old secret stop
working, and `wmgw byok reseal` seals users' own upstream keys again under the new one, so
they survive it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain import keys, sealing
from gateway.settings import Settings
from storage import provider_keys
from tests.cli_runner import Wmgw
from tests.conftest import run_db
from tests.leak_watch import WATCH

OLD, NEW = "old-server-secret-0123456789", "new-server-secret-9876543210"
OWN_KEY = "sk-or-v1-own-key-survives-rotation"


def wmgw_with_input(wmgw: Any, text: str, *args: str) -> str:
    """`wmgw` given `text` on its standard input, as an operator pastes a secret."""
    done = Wmgw(Settings.from_env(wmgw.env)).run(*args, stdin=text + "\n")
    assert done.exit_code == 0, done.output
    return done.stdout.strip()


def sealed_keys(wmgw: Any) -> list[tuple[str, str, str]]:
    async def work(conn: AsyncConnection) -> list[tuple[str, str, str]]:
        return await provider_keys.all_sealed(conn)

    return run_db(wmgw.env_database_url(), work)


def test_rotating_the_secret_retires_developer_keys_and_keeps_byok_keys(wmgw: Any) -> None:
    WATCH.remember(OLD, NEW, OWN_KEY)
    wmgw.env["WMGW_SERVER_SECRET"] = OLD
    user = wmgw("user", "create", "dev@example.com")
    developer_key = wmgw("key", "create", "dev@example.com").split()[-1]
    assert keys.parse(OLD.encode(), developer_key) is not None
    wmgw_with_input(wmgw, OWN_KEY, "byok", "set", "dev@example.com")
    [(_, _, before)] = sealed_keys(wmgw)

    wmgw.env["WMGW_SERVER_SECRET"] = NEW
    assert keys.parse(Settings.from_env(wmgw.env).server_secret, developer_key) is None
    report = wmgw_with_input(wmgw, OLD, "byok", "reseal")
    assert report == "1 resealed, 0 already current, 0 unopenable"
    [(owner, provider, after)] = sealed_keys(wmgw)
    assert (owner, provider) == (user, "openrouter") and after != before
    assert sealing.unseal(NEW.encode(), after, user) == OWN_KEY
    assert OWN_KEY not in report


def test_resealing_twice_or_with_a_wrong_secret_changes_nothing(wmgw: Any) -> None:
    WATCH.remember(OLD, NEW, OWN_KEY)
    wmgw.env["WMGW_SERVER_SECRET"] = OLD
    wmgw("user", "create", "dev@example.com")
    wmgw_with_input(wmgw, OWN_KEY, "byok", "set", "dev@example.com")
    wmgw.env["WMGW_SERVER_SECRET"] = NEW
    wmgw_with_input(wmgw, OLD, "byok", "reseal")
    [(_, _, resealed)] = sealed_keys(wmgw)
    again = wmgw_with_input(wmgw, OLD, "byok", "reseal")
    assert again == "0 resealed, 1 already current, 0 unopenable"
    wmgw.env["WMGW_SERVER_SECRET"] = "a-third-secret-nobody-sealed-with"
    wrong = wmgw_with_input(wmgw, "not-the-previous-secret", "byok", "reseal")
    assert wrong == "0 resealed, 0 already current, 1 unopenable"
    assert [sealed for _, _, sealed in sealed_keys(wmgw)] == [resealed]
