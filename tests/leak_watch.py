"""A pytest plugin: no secret the test run creates ever reaches a log, or an error answer of
the gateway, whatever the tests do.

Fixtures register each secret as they create it (`remember`, `remember_key`,
`remember_environment`): developer keys (whole, and their secret part), server secrets,
upstream keys, users' own (BYOK) keys. For the whole session, a handler on the root logger
keeps what is logged (the gateway's own `wmgw.*` loggers at every level, others from
WARNING); the log files of gateways run as subprocesses are watched (`watch_file`), and so are
the error answers of gateways run in-process (`ErrorAnswers`). When the session ends, a secret
found in any of them turns the run red, saying where (never the secret itself).

(PYTEST_DONT_REWRITE: conftest imports it before pytest loads it as a plugin; it asserts
nothing.)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_LENGTH = 8  # shorter test "secrets" ("k") would be found in any text
SECRET_NAMES = re.compile(r"(_KEY|_TOKEN|_SECRET|PASSWORD)$")
KEY_SHAPE = re.compile(r"wm_v2\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}")
ANSWER_BYTES = 64 * 1024  # of each error answer: an error message is short
FORMAT = logging.Formatter("%(name)s %(levelname)s %(message)s")


@dataclass
class LeakWatch:
    secrets: set[str] = field(default_factory=set)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (where, what was written)
    files: set[Path] = field(default_factory=set)

    def remember(self, *secrets: str | None) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= MIN_LENGTH)

    def remember_key(self, key: str) -> None:
        """A developer key, and its secret part, which must not leak on its own either."""
        parts = key.split(".")
        self.remember(key, parts[2] if len(parts) == 4 else None)

    def remember_environment(self, env: Mapping[str, str]) -> None:
        """The values of variables named like secrets (`*_KEY`, `*_TOKEN`, `*_SECRET`)."""
        self.remember(*(value for name, value in env.items() if SECRET_NAMES.search(name)))

    def remember_keys_in(self, text: str) -> None:
        """Developer keys printed by a command (`wmgw key create`, `wmgw bootstrap`)."""
        for key in KEY_SHAPE.findall(text):
            self.remember_key(key)

    def written(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def watch_file(self, path: Path) -> None:
        self.files.add(path)

    def findings(self) -> list[str]:
        """Where each secret was found: `<where>: <which secret>`. One search of everything
        for each secret first: thousands of secrets, and thousands of texts."""
        sources = [*self.texts, *self._file_texts()]
        everything = "\n\0\n".join(text for _, text in sources)
        found = [secret for secret in self.secrets if secret in everything]
        return [
            f"{where}: {describe(secret)}"
            for secret in found
            for where, text in sources
            if secret in text
        ]

    def _file_texts(self) -> Iterable[tuple[str, str]]:
        for path in sorted(self.files):
            if path.exists():
                yield str(path), path.read_text(errors="replace")


def describe(secret: str) -> str:
    """Enough to tell which secret it is without writing it into the report."""
    return f"a secret of {len(secret)} characters starting {secret[:4]!r}"


class LogKeeper(logging.Handler):
    def __init__(self, watch: LeakWatch) -> None:
        super().__init__(logging.DEBUG)
        self.watch = watch
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(FORMAT.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is logged nowhere
            self.lines.append(f"{record.name} {record.levelname} {record.msg!r} {record.args!r}")

    def text(self) -> str:
        return "\n".join(self.lines)


class ErrorAnswers:
    """ASGI middleware keeping the headers and body of every answer with status 400 or more."""

    def __init__(self, app: ASGIApp, watch: LeakWatch) -> None:
        self.app = app
        self.watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kept: list[str] = []

        async def keeping(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                kept.extend(
                    f"{k.decode('latin-1')}: {v.decode('latin-1')}" for k, v in message["headers"]
                )
            elif message["type"] == "http.response.body" and kept:
                kept.append(message.get("body", b"")[:ANSWER_BYTES].decode("utf-8", "replace"))
                if not message.get("more_body", False):
                    self.watch.written(
                        f"the answer to {scope['method']} {scope['path']}", "\n".join(kept)
                    )
            await send(message)

        await self.app(scope, receive, keeping)


class LeakCheck(pytest.Item):
    """The run's last test: fails naming where any secret was found."""

    def runtest(self) -> None:
        WATCH.written("the logs", _keeper.text())
        found = sorted(set(WATCH.findings()))
        if found:
            raise SecretsFound(found)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: object = None
    ) -> str:
        if isinstance(excinfo.value, SecretsFound):
            return "Secrets found in logs or error answers:\n" + "\n".join(excinfo.value.args[0])
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


class SecretsFound(Exception):
    pass


WATCH = LeakWatch()
_keeper = LogKeeper(WATCH)


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_keeper)
    logging.getLogger("wmgw").setLevel(logging.DEBUG)


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what they deselect
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    name = "no secret in any log or error answer"
    here = Path(__file__)
    nodeid = f"{os.path.relpath(here, session.config.rootpath)}::{name}"
    items.append(LeakCheck.from_parent(session, name=name, path=here, nodeid=nodeid))
