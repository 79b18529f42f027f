"""Developer keys, workspaces and the models a plan allows, as a client sees them."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openai
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.services import build_services
from gateway.settings import Settings
from storage import accounts
from tests.conftest import SERVER_SECRET, Gateway, seed
from tests.fakes.server import serve_asgi
from web.app import create_app

HELLO = [{"role": "user", "content": "hi"}]


def test_models_list_is_openai_shaped(gateway: Gateway) -> None:
    with gateway.http() as http:
        body = http.get("/models").json()
    assert body["object"] == "list"
    for model in body["data"]:
        assert set(model) == {"id", "object", "created", "owned_by"}
        assert model["object"] == "model"
    ids = [m.id for m in gateway.client().models.list()]
    assert "writingmate/echo" in ids and "openai/gpt-5-mini" in ids


def test_retrieve_a_model_by_slug_with_a_slash(gateway: Gateway) -> None:
    model = gateway.client().models.retrieve("openai/gpt-5-mini")
    assert (model.id, model.owned_by) == ("openai/gpt-5-mini", "openai")


def test_unknown_model_is_404_model_not_found(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway.client().models.retrieve("nobody/nothing")
    assert caught.value.code == "model_not_found"


def test_plan_decides_which_models_are_listed_and_usable(gateway: Gateway) -> None:
    async def move_to_free_plan(conn: AsyncConnection) -> str:
        await accounts.create_plan(conn, "free", 100)
        workspace = await accounts.create_workspace(conn, "Free", "free")
        await accounts.add_member(conn, gateway.user_id, workspace)
        return workspace

    free = gateway.db(move_to_free_plan)
    client = gateway.client(default_headers={"x-writingmate-workspace": free})
    ids = [m.id for m in client.models.list()]
    assert "openai/gpt-5-mini" in ids and "openai/gpt-5" not in ids
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("openai/gpt-5")
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="openai/gpt-5", messages=HELLO)
    assert caught.value.body["param"] == "model"


def test_no_key_is_401_invalid_api_key(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.get("/models", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda key: "sk-not-ours",
        lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),  # bad signature
        lambda key: key.replace(".", ".x", 1),  # mistyped
    ],
    ids=["foreign", "forged-signature", "mistyped"],
)
def test_forged_or_mistyped_key_is_401(gateway: Gateway, mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(openai.AuthenticationError) as caught:
        gateway.client(key=mangle(gateway.key)).models.list()
    assert caught.value.code == "invalid_api_key"


def test_revoked_key_stops_working(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway = start_gateway(env={"WMGW_KEY_CACHE_SECONDS": "0"})
    gateway.client().models.list()
    key_id = gateway.key.split(".")[1]
    assert gateway.db(lambda conn: accounts.revoke_key(conn, key_id))
    with pytest.raises(openai.AuthenticationError):
        gateway.client().models.list()


def test_expired_key_is_refused(gateway: Gateway) -> None:
    expired = gateway.new_key(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(openai.AuthenticationError):
        gateway.client(key=expired).models.list()
    fresh = gateway.new_key(expires_at=datetime.now(UTC) + timedelta(days=1))
    assert gateway.client(key=fresh).models.list().data


def test_using_a_key_records_its_last_use(gateway: Gateway) -> None:
    gateway.client().models.list()
    # Recorded in the background (no request waits for it), so within a moment, not at once.
    deadline = time.monotonic() + 5
    while (last_used := gateway.db(accounts.list_keys)[0]["last_used_at"]) is None:
        assert time.monotonic() < deadline, "the key's last use was never recorded"
        time.sleep(0.02)
    assert last_used is not None


@pytest.mark.parametrize("workspace", ["ws_doesnotexist", "other"])
def test_foreign_or_unknown_workspace_is_403_without_saying_which(
    gateway: Gateway, workspace: str
) -> None:
    if workspace == "other":
        workspace = gateway.db(lambda conn: accounts.create_workspace(conn, "Theirs", "team"))
    client = gateway.client(default_headers={"x-writingmate-workspace": workspace})
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="writingmate/echo", messages=HELLO)
    assert caught.value.message.endswith("You do not have access to this workspace.")
    assert caught.value.code == "workspace_forbidden"


def test_workspace_header_picks_where_usage_is_counted(gateway: Gateway) -> None:
    async def second_workspace(conn: AsyncConnection) -> str:
        workspace = await accounts.create_workspace(conn, "Second", "team")
        await accounts.add_member(conn, gateway.user_id, workspace)
        return workspace

    second = gateway.db(second_workspace)
    gateway.client().chat.completions.create(model="writingmate/echo", messages=HELLO)
    gateway.client(default_headers={"x-writingmate-workspace": second}).chat.completions.create(
        model="writingmate/echo", messages=HELLO
    )
    assert [row["workspace_id"] for row in gateway.ledger()] == [gateway.workspace_id, second]


def test_when_the_key_cache_expires_under_load_the_database_is_asked_once(
    tmp_path: Path, migrated_template: Path
) -> None:
    """Forty requests arriving together after the cached key expired: one lookup of the key
    and its workspace, not forty (which stalled every request in flight, every two seconds)."""
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    settings = Settings.from_env(
        {
            "WMGW_DATA_DIR": str(tmp_path),
            "WMGW_SERVER_SECRET": SERVER_SECRET,
            "WMGW_KEY_CACHE_SECONDS": "0.5",
        }
    )
    _, _, key = seed(settings.database_url, settings.server_secret, daily_limit=None)
    services = build_services(settings)
    lookups: list[str] = []
    event.listen(
        services.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_rest: lookups.append(sql) if "FROM api_keys" in sql else None,
    )
    with serve_asgi(create_app(settings, services)) as url:

        async def burst() -> None:
            client = openai.AsyncOpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
            await asyncio.gather(*(client.models.list() for _ in range(40)))
            await client.close()

        asyncio.run(burst())
        time.sleep(0.6)  # every cached entry has expired
        lookups.clear()
        asyncio.run(burst())
    assert len(lookups) == 1
