"""`wmgw` run in-process with Click's CliRunner, on a fresh data dir: about as fast as a
function call, with the exit status, standard output and standard error a shell would see."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from cli import cli
from gateway.settings import Settings
from tests.fakes.server import serve_asgi
from tests.leak_watch import WATCH
from web.app import create_app

SERVER_SECRET = "cli-in-process-server-secret"
WATCH.remember(SERVER_SECRET)


@dataclass
class Wmgw:
    settings: Settings

    def run(self, *args: str, stdin: str | None = None) -> Result:
        result = CliRunner().invoke(
            cli, list(args), obj=self.settings, input=stdin, catch_exceptions=False
        )
        WATCH.remember_keys_in(result.stdout)
        WATCH.written(f"the standard error of wmgw {' '.join(args[:2])}", result.stderr)
        return result

    def __call__(self, *args: str, ok: bool = True, stdin: str | None = None) -> str:
        """Standard output, stripped; the command must succeed (or fail, with ok=False)."""
        result = self.run(*args, stdin=stdin)
        assert (result.exit_code == 0) == ok, result.output
        return result.stdout.strip()

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json"))

    def refusal(self, *args: str, status: int = 1) -> str:
        """What a refused command says on standard error (it prints nothing on standard
        output)."""
        result = self.run(*args)
        assert (result.exit_code, result.stdout) == (status, ""), result.output
        return result.stderr.strip()


def wmgw_on(data_dir: Path, env: Mapping[str, str] | None = None) -> Wmgw:
    environ = {"WMGW_DATA_DIR": str(data_dir), "WMGW_SERVER_SECRET": SERVER_SECRET, **(env or {})}
    return Wmgw(Settings.from_env(environ))


@dataclass
class Site:
    """`wmgw` and the gateway it manages, serving on one database (keys are looked up on
    every request: WMGW_KEY_CACHE_SECONDS=0)."""

    wmgw: Wmgw
    url: str  # .../api/openai/v1

    def status(self, key: str) -> int:
        """The status of `GET /models` with the key: 200 while it works."""
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.get(f"{self.url}/models", headers=headers, timeout=30).status_code

    def chat(self, key: str) -> None:
        body = {"model": "writingmate/echo", "messages": [{"role": "user", "content": "hi"}]}
        answer = httpx.post(
            f"{self.url}/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json=body,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text

    def store_response(self, key: str) -> None:
        """A stored response (`POST /responses`), which belongs to the key's workspace."""
        answer = httpx.post(
            f"{self.url}/responses",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "writingmate/echo", "input": "hi"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text


@contextmanager
def site_on(data_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[Site]:
    wmgw = wmgw_on(data_dir, {"WMGW_KEY_CACHE_SECONDS": "0", **(env or {})})
    wmgw("migrate")
    with serve_asgi(create_app(wmgw.settings)) as url:
        yield Site(wmgw, f"{url}/api/openai/v1")
