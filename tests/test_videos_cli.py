"""An operator grants video seconds per plan with `wmgw` and reads a workspace's pool."""

from __future__ import annotations

import openai
import pytest

from gateway.settings import Settings
from tests.fakes.server import serve_asgi
from web.app import create_app


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_operator_grants_video_seconds_and_sees_them_drawn(wmgw) -> None:  # type: ignore[no-untyped-def]
    wmgw("plan", "create", "pro")
    wmgw("plan", "set-video-seconds", "pro", "--monthly", "12")
    assert "12" in wmgw("plan", "list").splitlines()[1]
    workspace = wmgw("workspace", "create", "Studio", "--plan", "pro")
    wmgw("user", "create", "vi@studio.test", "--workspace", workspace)
    key = wmgw("key", "create", "vi@studio.test")

    settings = Settings.from_env({**wmgw.env, "WMGW_VIDEO_WORKER": "0"})
    with serve_asgi(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/api/openai/v1", api_key=key, max_retries=0)
        client.videos.create(model="writingmate/echo-video", prompt="A lighthouse", seconds="8")
        with pytest.raises(openai.RateLimitError):
            client.videos.create(model="writingmate/echo-video", prompt="Another", seconds="8")

    header, row = wmgw("workspace", "video-seconds", workspace).splitlines()
    assert header.split() == ["month", "granted", "used", "remaining"]
    assert row.split()[1:] == ["12", "8", "4"]
    assert "8" in wmgw("usage", "--workspace", workspace).splitlines()[-1].split()  # today
    wmgw("plan", "set-video-seconds", "pro")  # unlimited
    assert wmgw("workspace", "video-seconds", workspace).splitlines()[1].split()[1:] == [
        "-",
        "8",
        "-",
    ]
    wmgw("workspace", "video-seconds", "ws_nope", ok=False)
