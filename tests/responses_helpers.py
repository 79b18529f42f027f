"""What the Responses API tests share: the models they call, a function tool, and readers of a
stream's raw frames."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Gateway

ECHO = "writingmate/echo"
OPENAI = "openai/gpt-5-mini"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def raw_events(gateway: Gateway, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A stream's frames as (event line, parsed data), checking the framing on the way."""
    with gateway.http() as http:
        response = http.post("/responses", json={**body, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f]
    events = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        name = event_line.removeprefix("event: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        events.append((name, data))
    return events


def collapsed(types: list[str]) -> list[str]:
    """Event types with runs of the same delta event shown once."""
    return [t for i, t in enumerate(types) if i == 0 or t != types[i - 1] or "delta" not in t]
