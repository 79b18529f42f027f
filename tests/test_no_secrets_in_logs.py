"""No key, secret or Authorization header ever reaches a log, whatever happens."""

from __future__ import annotations

import logging

import openai
import pytest

from tests.conftest import Gateway
from tests.fakes.openai_upstream import FakeOpenAIUpstream


def test_keys_never_reach_the_logs(
    gateway: Gateway, fake_openai: FakeOpenAIUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    forged = gateway.key[:-2] + "xx"
    client = gateway.client()
    client.chat.completions.create(
        model="writingmate/echo", messages=[{"role": "user", "content": "hi"}]
    )
    list(
        client.chat.completions.create(
            model="openai/gpt-5-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    fake_openai.fail(500)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="openai/gpt-5-mini", messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(openai.AuthenticationError):
        gateway.client(key=forged).models.list()
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        for record in caplog.records
    )
    secret = gateway.key.split(".")[2]
    for needle in (gateway.key, secret, forged, "sk-upstream-test-key", "Bearer "):
        assert needle not in logged
