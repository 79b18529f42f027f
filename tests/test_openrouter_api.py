"""OpenRouter's 200+ models through the gateway: synced by `wmgw models sync-openrouter`,
listed by GET /models with context length and prices, and routed to OpenRouter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.settings import Settings
from storage import usage
from tests.cli_runner import Wmgw
from tests.conftest import SERVER_SECRET, UPSTREAM_KEY, run_db, seed
from tests.fakes.openai_errors import openai_error
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.server import serve_asgi
from tests.leak_watch import WATCH
from web.app import create_app

SAMPLE = Path(__file__).parent / "fixtures" / "openrouter-models.json"


def fake_openrouter_models(key: str) -> Starlette:
    """`GET /api/v1/models` as OpenRouter serves it."""

    async def models(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {key}":
            return JSONResponse(
                {"error": {"message": "No auth credentials found", "code": 401}}, 401
            )
        return JSONResponse(json.loads(SAMPLE.read_text()))

    return Starlette(routes=[Route("/api/v1/models", models)])


@pytest.fixture
def environ(
    tmp_path: Path, migrated_template: Path, fake_openai: FakeOpenAIUpstream
) -> dict[str, str]:
    shutil.copy(migrated_template, tmp_path / "gateway.db")
    return {
        "WMGW_DATA_DIR": str(tmp_path),
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_VALIDATE_RESPONSES": "1",
        "WMGW_OPENROUTER_API_KEY": UPSTREAM_KEY,
        "WMGW_OPENROUTER_BASE_URL": f"{fake_openai.base_url}/v1",
    }


def wmgw(environ: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = Wmgw(Settings.from_env(environ)).run(*args, stdin=stdin)
    assert done.exit_code == 0, done.output
    return done.stdout


def test_synced_models_are_listed_with_context_length_and_prices(environ: dict[str, str]) -> None:
    print(wmgw(environ, "models", "sync-openrouter", "--file", str(SAMPLE)))
    settings = Settings.from_env(environ)
    _, _, key = seed(settings.database_url, settings.server_secret, None)
    with serve_asgi(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
        models = {m.id: m for m in client.models.list()}
        deepseek = client.models.retrieve("deepseek/deepseek-chat-v3.1")
    assert len(models) > 30
    sonnet = models["anthropic/claude-sonnet-4.5"]
    assert sonnet.owned_by == "anthropic"
    assert sonnet.model_extra == {
        "context_length": 1_000_000,
        "pricing": {"prompt": "0.000003", "completion": "0.000015"},
    }
    assert deepseek.id == "deepseek/deepseek-chat-v3.1"


def test_sync_fetches_the_list_from_openrouter_with_the_key(environ: dict[str, str]) -> None:
    with serve_asgi(fake_openrouter_models(UPSTREAM_KEY)) as url:
        environ = {**environ, "WMGW_OPENROUTER_BASE_URL": f"{url}/api/v1"}
        out = wmgw(environ, "models", "sync-openrouter")
    assert out.split()[0].isdigit() and int(out.split()[0]) > 30


def test_an_openrouter_model_is_routed_to_openrouter(
    environ: dict[str, str], fake_openai: FakeOpenAIUpstream
) -> None:
    wmgw(environ, "models", "sync-openrouter", "--file", str(SAMPLE))
    settings = Settings.from_env(environ)
    _, _, key = seed(settings.database_url, settings.server_secret, None)
    fake_openai.reply("from openrouter", prompt_tokens=7, completion_tokens=2)
    with serve_asgi(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
        completion = client.chat.completions.create(
            model="anthropic/claude-sonnet-4.5", messages=[{"role": "user", "content": "hi"}]
        )
    assert completion.choices[0].message.content == "from openrouter"
    assert completion.model == "anthropic/claude-sonnet-4.5"
    [request] = fake_openai.requests
    assert request.body["model"] == "anthropic/claude-sonnet-4.5"
    assert request.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert request.headers["x-title"] == "Writingmate Gateway"


def test_byok_requests_use_the_users_key_are_marked_and_draw_on_no_limit(
    environ: dict[str, str], fake_openai: FakeOpenAIUpstream
) -> None:
    wmgw(environ, "models", "sync-openrouter", "--file", str(SAMPLE))
    settings = Settings.from_env(environ)
    _, _, key = seed(settings.database_url, settings.server_secret, daily_limit=1)
    own_key = "sk-or-v1-users-own-key-0123456789"
    WATCH.remember(own_key)
    stored = wmgw(environ, "byok", "set", "dev@example.com", stdin=own_key + "\n")
    assert own_key not in stored and own_key not in wmgw(environ, "byok", "list", "dev@example.com")
    fake_openai.api_key = own_key  # the upstream accepts only the user's own key now
    with serve_asgi(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
        for _ in range(3):  # the plan allows one message a day
            raw = client.chat.completions.with_raw_response.create(
                model="deepseek/deepseek-chat-v3.1", messages=[{"role": "user", "content": "hi"}]
            )
            # The answer says it was not counted against the plan.
            assert raw.headers["x-writingmate-byok"] == "true"
            assert raw.headers["x-writingmate-messages-counted"] == "0"
        client.chat.completions.create(
            model="writingmate/echo", messages=[{"role": "user", "content": "hi"}]
        )
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model="writingmate/echo", messages=[{"role": "user", "content": "hi"}]
            )
    fake_openai.api_key = UPSTREAM_KEY
    assert [r.headers["authorization"] for r in fake_openai.requests] == [f"Bearer {own_key}"] * 3
    rows = run_db(settings.database_url, usage.ledger_rows)
    assert [row["byok"] for row in rows] == [True, True, True, False]
    assert [row["messages"] for row in rows] == [0, 0, 0, 1]
    database = (Path(environ["WMGW_DATA_DIR"]) / "gateway.db").read_bytes()
    assert own_key.encode() not in database


def test_a_users_own_key_repeated_by_the_upstream_never_reaches_them(
    environ: dict[str, str], fake_openai: FakeOpenAIUpstream
) -> None:
    wmgw(environ, "models", "sync-openrouter", "--file", str(SAMPLE))
    settings = Settings.from_env(environ)
    _, _, key = seed(settings.database_url, settings.server_secret, None)
    own_key = "my-own-openrouter-key-777"  # shaped like no known key: only an exact match
    wmgw(environ, "byok", "set", "dev@example.com", stdin=own_key + "\n")
    fake_openai.api_key = own_key
    fake_openai.fail(401, openai_error(f"No user found for key {own_key}.", code=401))
    with serve_asgi(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(
                model="deepseek/deepseek-chat-v3.1", messages=[{"role": "user", "content": "hi"}]
            )
    fake_openai.api_key = UPSTREAM_KEY
    assert own_key not in caught.value.response.text
    assert "No user found for key ***." in caught.value.message
