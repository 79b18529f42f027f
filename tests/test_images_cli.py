"""The daily image limit as an operator sets it with `wmgw plan`, and as a developer then
meets it through the official SDK."""

from __future__ import annotations

import openai
import pytest

from gateway.settings import Settings
from tests.fakes.server import serve_asgi
from web.app import create_app


def test_plan_with_a_daily_image_limit_refuses_the_image_past_it(wmgw) -> None:  # type: ignore[no-untyped-def]
    wmgw("plan", "create", "starter", "--daily-messages", "50", "--daily-images", "3")
    workspace = wmgw("workspace", "create", "Studio", "--plan", "starter")
    wmgw("user", "create", "ines@studio.test", "--workspace", workspace)
    key = wmgw("key", "create", "ines@studio.test")
    listed = wmgw("plan", "list").splitlines()
    assert listed[0].split()[:3] == ["name", "daily_message_limit", "daily_image_limit"]
    assert listed[1].split()[:3] == ["starter", "50", "3"]
    # A plan's limits reach a running gateway once its cached view of the key expires.
    settings = Settings.from_env({**wmgw.env, "WMGW_KEY_CACHE_SECONDS": "0"})
    with serve_asgi(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
        raw = client.images.with_raw_response.generate(
            model="writingmate/echo-image", prompt="a", n=3, size="16x16"
        )
        assert raw.headers["x-writingmate-images-remaining"] == "0"
        assert raw.headers["x-writingmate-messages-remaining"] == "49"
        with pytest.raises(openai.RateLimitError):
            client.images.generate(model="writingmate/echo-image", prompt="b", size="16x16")
        wmgw("plan", "set-image-limit", "starter", "--daily-images", "4")
        again = client.images.with_raw_response.generate(
            model="writingmate/echo-image", prompt="c", size="16x16"
        )
        assert again.headers["x-writingmate-images-remaining"] == "0"
        wmgw("plan", "set-image-limit", "starter")  # unlimited
        free = client.images.with_raw_response.generate(
            model="writingmate/echo-image", prompt="d", n=5, size="16x16"
        )
        assert "x-writingmate-images-remaining" not in free.headers
    wmgw("plan", "set-image-limit", "nope", "--daily-images", "1", ok=False)
