"""Conversation state on `POST /responses`: `previous_response_id`, `store`, `GET` and
`DELETE /responses/{id}`, a workspace's responses unknown to another, and the same on
PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from sqlalchemy import create_engine, text

from gateway.settings import Settings
from storage import accounts
from storage.migrate import upgrade
from tests.conftest import SERVER_SECRET, Gateway, seed
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.server import serve_asgi
from tests.responses_helpers import ECHO, OPENAI, WEATHER
from tests.services.postgres import local_postgres, server_bin
from web.app import create_app


def test_previous_response_id_continues_the_conversation(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream
) -> None:
    client = gateway.client()
    fake_openai.reply("Hello Ada!")
    first = client.responses.create(model=OPENAI, input="My name is Ada.", instructions="Be warm.")
    fake_openai.reply("Your name is Ada.")
    second = client.responses.create(
        model=OPENAI, previous_response_id=first.id, input="What is my name?"
    )
    fake_openai.reply("You asked my name.")
    client.responses.create(model=OPENAI, previous_response_id=second.id, input="And then?")
    assert second.output_text == "Your name is Ada."
    turns = [r.body["messages"] for r in fake_openai.requests]
    assert turns[1] == [  # the instructions were for the first turn only
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada!"},
        {"role": "user", "content": "What is my name?"},
    ]
    assert turns[2] == [
        *turns[1],
        {"role": "assistant", "content": "Your name is Ada."},
        {"role": "user", "content": "And then?"},
    ]


def test_echo_counts_the_whole_conversation_as_input(gateway: Gateway) -> None:
    client = gateway.client()
    first = client.responses.create(model=ECHO, input="My name is Ada")  # 4 tokens, echoed
    second = client.responses.create(
        model=ECHO, previous_response_id=first.id, input="What is my name?"
    )
    assert second.output_text == "What is my name?"
    assert second.usage.input_tokens == 4 + 4 + 5


def test_store_false_response_cannot_be_continued_or_retrieved(gateway: Gateway) -> None:
    client = gateway.client()
    first = client.responses.create(model=ECHO, input="forget me", store=False)
    assert first.store is False
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=ECHO, previous_response_id=first.id, input="again")
    assert caught.value.code == "previous_response_not_found"
    assert caught.value.param == "previous_response_id"
    assert first.id in caught.value.message
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    assert len(gateway.ledger()) == 1  # the refused request never reached a model


def test_stored_response_can_be_retrieved_and_deleted(gateway: Gateway) -> None:
    client = gateway.client()
    created = client.responses.create(model=ECHO, input="keep me")
    retrieved = client.responses.retrieve(created.id)
    assert retrieved.model_dump() == created.model_dump()
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model=ECHO, previous_response_id=created.id, input="again")
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)


def test_streamed_response_is_stored_before_its_last_event(gateway: Gateway) -> None:
    client = gateway.client()
    with client.responses.stream(model=ECHO, input="store the stream") as stream:
        for event in stream:
            if event.type == "response.completed":
                stored = client.responses.retrieve(event.response.id)
                assert stored.output_text == "store the stream"
                assert stored.status == "completed"


def test_another_workspaces_response_is_unknown(gateway: Gateway) -> None:
    async def second_workspace(conn: Any) -> str:
        workspace_id = await accounts.create_workspace(conn, "Other", "team")
        await accounts.add_member(conn, gateway.user_id, workspace_id, "owner")
        return workspace_id

    other = gateway.db(second_workspace)
    mine = gateway.client().responses.create(model=ECHO, input="private")
    elsewhere = gateway.client(default_headers={"x-writingmate-workspace": other})
    with pytest.raises(openai.NotFoundError):
        elsewhere.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        elsewhere.responses.delete(mine.id)
    with pytest.raises(openai.BadRequestError) as caught:
        elsewhere.responses.create(model=ECHO, previous_response_id=mine.id, input="hi")
    assert caught.value.code == "previous_response_not_found"
    assert gateway.client().responses.retrieve(mine.id).id == mine.id


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if server_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    with local_postgres() as admin_url:
        name = f"t_{secrets.token_hex(6)}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        yield url


def test_conversations_are_stored_and_continued_on_postgres(
    postgres_url: str, tmp_path: Any
) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": postgres_url,
            "WMGW_SERVER_SECRET": SERVER_SECRET,
            "WMGW_DATA_DIR": str(tmp_path),
        }
    )
    _, _, key = seed(settings.database_url, settings.server_secret, daily_limit=None)
    with serve_asgi(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
        first = client.responses.create(
            model=ECHO, input='get_weather {"city": "Rome"}', tools=[WEATHER]
        )
        second = client.responses.create(
            model=ECHO,
            previous_response_id=first.id,
            input=[
                {
                    "type": "function_call_output",
                    "call_id": first.output[0].call_id,
                    "output": "21C",
                }
            ],
        )
        assert second.output_text == "Tool result: 21C"
        assert client.responses.retrieve(second.id).model_dump() == second.model_dump()
        client.responses.delete(first.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(first.id)
