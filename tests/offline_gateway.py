"""One gateway with only its offline `writingmate/*` models, shared by a whole test module: the
tests that drive real clients (tests/test_llm_cli.py, test_langchain.py, test_ai_sdk.py) start
it once per module, since each client run is already a process or a session of its own.

    @pytest.fixture(scope="module")
    def gw(tmp_path_factory, migrated_template):
        with offline_gateway(tmp_path_factory.mktemp("data"), migrated_template) as running:
            yield running
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from gateway.settings import Settings
from tests.conftest import SERVER_SECRET, Gateway, seed
from tests.fakes.server import serve_asgi
from tests.leak_watch import WATCH, ErrorAnswers
from web.app import create_app


@contextmanager
def offline_gateway(
    data_dir: Path, migrated_template: Path, env: Mapping[str, str] | None = None
) -> Iterator[Gateway]:
    """A running gateway on loopback with a user, a workspace on an unlimited plan and a key;
    `env` adds to its environment (an upstream's variables, ...)."""
    shutil.copy(migrated_template, data_dir / "gateway.db")
    environ = {
        "WMGW_DATA_DIR": str(data_dir),
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_VALIDATE_RESPONSES": "1",
        **(env or {}),
    }
    WATCH.remember_environment(environ)
    settings = Settings.from_env(environ)
    user_id, workspace_id, key = seed(settings.database_url, settings.server_secret, None)
    with serve_asgi(ErrorAnswers(create_app(settings), WATCH)) as url:
        yield Gateway(f"{url}/api/openai/v1", key, settings, user_id, workspace_id)
