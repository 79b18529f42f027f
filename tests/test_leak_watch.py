"""The plugin that fails a test run when one of its secrets reached a log or an error answer
(tests/leak_watch.py) finds what it must, says where without repeating the secret, and turns
a whole pytest run red."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
from starlette.responses import JSONResponse, PlainTextResponse

from domain import keys
from tests.leak_watch import ErrorAnswers, LeakWatch, LogKeeper, describe

REPO = Path(__file__).resolve().parent.parent


def a_key() -> str:
    return keys.generate(b"leak-watch-test-secret").plaintext


def test_a_key_is_found_whole_or_by_its_secret_part_alone() -> None:
    watch = LeakWatch()
    key = a_key()
    watch.remember_key(key)
    secret = key.split(".")[2]
    watch.written("log A", f"auth failed for {key[:-2]}xx")  # a mangled key still holds it
    watch.written("log B", "nothing to see")
    assert watch.findings() == [f"log A: {describe(secret)}"]


def test_the_report_names_the_secret_without_writing_it() -> None:
    secret = "sk-upstream-0123456789abcdef"
    assert secret not in describe(secret) and describe(secret).startswith("a secret of 28")


def test_secrets_are_read_from_variables_named_like_secrets() -> None:
    watch = LeakWatch()
    watch.remember_environment(
        {
            "WMGW_OPENAI_API_KEY": "sk-openai-xyz-123",
            "WMGW_REPLICATE_API_TOKEN": "r8_token_456789",
            "WMGW_SERVER_SECRET": "server-secret-789",
            "WMGW_OPENAI_BASE_URL": "http://127.0.0.1:9999/v1",
            "WMGW_DATA_DIR": "/tmp/data",
        }
    )
    assert watch.secrets == {"sk-openai-xyz-123", "r8_token_456789", "server-secret-789"}


def test_keys_printed_by_a_command_are_remembered() -> None:
    watch = LeakWatch()
    key = a_key()
    watch.remember_keys_in(f"Your key (shown once):\n{key}\ncurl ...")
    assert watch.secrets == {key, key.split(".")[2]}


def test_short_values_are_not_taken_for_secrets() -> None:
    watch = LeakWatch()
    watch.remember("k", "", None, "1234567")
    assert watch.secrets == set()


def test_log_records_are_kept_with_their_arguments_and_tracebacks() -> None:
    watch = LeakWatch()
    keeper = LogKeeper(watch)
    log = logging.getLogger("wmgw.leak-watch-test")
    log.addHandler(keeper)
    try:
        log.debug("calling with %s", "sk-in-an-argument-1")
        try:
            raise RuntimeError("sk-in-an-exception-2")
        except RuntimeError:
            log.warning("failed", exc_info=True)
    finally:
        log.removeHandler(keeper)
    watch.remember("sk-in-an-argument-1", "sk-in-an-exception-2")
    watch.written("the logs", keeper.text())
    assert len(watch.findings()) == 2


def test_log_files_of_gateway_processes_are_read(tmp_path: Path) -> None:
    watch = LeakWatch()
    log = tmp_path / "gunicorn.log"
    log.write_text("[INFO] Booting worker\n[ERROR] bad key sk-leaked-into-a-file\n")
    watch.watch_file(log)
    watch.watch_file(tmp_path / "never-written.log")
    watch.remember("sk-leaked-into-a-file")
    assert watch.findings() == [f"{log}: {describe('sk-leaked-into-a-file')}"]


async def test_error_answers_are_kept_and_successful_ones_are_not() -> None:
    watch = LeakWatch()

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["path"] == "/fails":
            answer = JSONResponse({"error": {"message": "key sk-echoed-back-123"}}, 401)
        else:
            answer = PlainTextResponse("sk-echoed-back-123 is fine in a 200")
        await answer(scope, receive, send)

    transport = httpx.ASGITransport(app=ErrorAnswers(app, watch))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        await client.get("/fails")
        await client.get("/works")
    watch.remember("sk-echoed-back-123")
    assert watch.findings() == [f"the answer to GET /fails: {describe('sk-echoed-back-123')}"]


def test_a_secret_in_the_logs_turns_the_whole_run_red(tmp_path: Path) -> None:
    """A run of two tests, one of which logs a key it registered: each test passes, and the
    run fails on the watcher's last test, which names where the secret was found."""
    (tmp_path / "test_leaky.py").write_text(
        "import logging\n"
        "from domain import keys\n"
        "from tests.leak_watch import WATCH\n"
        "def test_quiet():\n"
        "    pass\n"
        "def test_leaky():\n"
        "    key = keys.generate(b'a-server-secret').plaintext\n"
        "    WATCH.remember_key(key)\n"
        "    logging.getLogger('wmgw.auth').debug('checking %s', key)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.leak_watch", "-p", "no:cacheprovider"]
        + ["--rootdir", str(tmp_path), "-o", "addopts=", str(tmp_path / "test_leaky.py")],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout
    assert "1 failed, 2 passed" in done.stdout
    assert "the logs: a secret of 43 characters" in done.stdout
    assert "wm_v2." not in done.stdout.split("Secrets found", 1)[1]
