"""Usage in chat completion chunks: read into the gateway's Usage, and written back."""

from __future__ import annotations

import pytest

from domain.metering import Usage
from providers.chunks import usage_from, usage_payload


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param({}, None, id="empty"),
        pytest.param(
            {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            Usage(10, 5, 0),
            id="no details",
        ),
        pytest.param(
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 4},
            },
            Usage(10, 5, 4),
            id="cached tokens from prompt_tokens_details",
        ),
        pytest.param(
            {"prompt_tokens": 10, "completion_tokens": None, "prompt_tokens_details": None},
            Usage(10, 0, 0),
            id="nulls are zero",
        ),
        pytest.param(
            {
                "prompt_tokens": 3,
                "completion_tokens": 2,
                "prompt_tokens_details": {"cached_tokens": None, "audio_tokens": 0},
            },
            Usage(3, 2, 0),
            id="null cached tokens",
        ),
    ],
)
def test_usage_from(usage, expected):
    assert usage_from(usage) == expected


def test_usage_from_is_not_an_estimate():
    assert usage_from({"prompt_tokens": 1})
    assert not usage_from({"prompt_tokens": 1}).estimated


def test_usage_payload_round_trips_through_usage_from():
    usage = Usage(prompt_tokens=7, completion_tokens=3, cached_tokens=2)
    assert usage_payload(usage)["total_tokens"] == 10
    assert usage_from(usage_payload(usage)) == usage
