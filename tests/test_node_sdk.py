"""End to end with the official `openai` Node SDK (pinned in tests/node/package.json): what a
Node user of the SDK observes against a real gateway on loopback, on every endpoint, with the
offline `writingmate/*` models. `make test` runs `npm ci` in tests/node first; without `node`,
or with the SDK not installed, these tests are skipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Gateway

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE = shutil.which("node")
HEARD = "This is the Writingmate echo transcriber. It heard 2.50 seconds of WAV audio."

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "openai").is_dir(),
        reason="the openai Node SDK is not installed (npm ci --prefix tests/node)",
    ),
]


def observe(gateway: Gateway, scenario: str) -> Any:
    """Run one scenario of tests/node/sdk_checks.mjs; what the SDK returned or raised."""
    env = {**os.environ, "GATEWAY_URL": gateway.base_url, "GATEWAY_KEY": gateway.key}
    result = subprocess.run(
        [str(NODE), "sdk_checks.mjs", scenario],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_node_sdk_lists_the_models(gateway: Gateway) -> None:
    assert "writingmate/echo" in observe(gateway, "models")["ids"]


def test_node_sdk_retrieves_a_model_whose_id_has_a_slash(gateway: Gateway) -> None:
    seen = observe(gateway, "model")
    assert (seen["id"], seen["object"], seen["owned_by"]) == (
        "writingmate/echo",
        "model",
        "writingmate",
    )
    assert seen["url"].endswith("/models/writingmate%2Fecho")  # the SDK escapes the slash


def test_node_sdk_gets_a_completion_with_usage_and_metering_headers(gateway: Gateway) -> None:
    seen = observe(gateway, "completion")
    assert (seen["object"], seen["model"]) == ("chat.completion", "writingmate/echo")
    assert (seen["content"], seen["finish_reason"]) == ("Hello from Node!", "stop")
    assert seen["usage"]["prompt_tokens"] == seen["usage"]["completion_tokens"] == 4
    assert seen["counted"] == "1" and seen["request_id"].startswith("req_")
    [row] = gateway.ledger()
    assert row["request_id"] == seen["request_id"]


def test_node_sdk_streams_chunks_and_the_usage_chunk(gateway: Gateway) -> None:
    seen = observe(gateway, "stream")
    assert seen["text"] == "Hello from Node!" and seen["chunks"] > 3
    assert seen["finish_reason"] == "stop"
    assert seen["usage"]["total_tokens"] == 8


def test_node_sdk_stream_helper_assembles_a_tool_call(gateway: Gateway) -> None:
    seen = observe(gateway, "tools")
    assert seen == {
        "finish_reason": "tool_calls",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
        "id_prefix": "call_",
    }


def test_node_sdk_raises_its_own_error_classes(gateway: Gateway) -> None:
    seen = observe(gateway, "errors")
    assert seen["unknown_model"] == {
        "raised": "NotFoundError",
        "status": 404,
        "code": "model_not_found",
        "param": "model",
        "type": "invalid_request_error",
    }
    assert seen["bad_value"]["raised"] == "BadRequestError"
    assert seen["bad_value"]["param"] == "n"
    assert (seen["bad_key"]["raised"], seen["bad_key"]["code"]) == (
        "AuthenticationError",
        "invalid_api_key",
    )


def test_node_sdk_decodes_default_base64_embeddings(gateway: Gateway) -> None:
    seen = observe(gateway, "embeddings")
    assert seen["lengths"] == [256, 256] and seen["is_array"]
    assert seen["norm"] == pytest.approx(1, abs=1e-6)
    assert seen["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    assert seen["short_lengths"] == [16, 16]


# ---- legacy completions -------------------------------------------------------------------


def test_node_sdk_gets_a_legacy_completion(gateway: Gateway) -> None:
    seen = observe(gateway, "legacy_completion")
    assert (seen["object"], seen["id_prefix"], seen["model"]) == (
        "text_completion",
        "cmpl-",
        "writingmate/echo",
    )
    assert seen["choices"] == [[0, "Say this is a test", "stop"]]
    assert (seen["usage"]["prompt_tokens"], seen["usage"]["completion_tokens"]) == (5, 5)
    assert seen["counted"] == "1"


def test_node_sdk_streams_a_legacy_completion_per_prompt_with_a_usage_chunk(
    gateway: Gateway,
) -> None:
    seen = observe(gateway, "legacy_completion_stream")
    assert seen["texts"] == {"0": "count these words", "1": "and these"}
    assert seen["finishes"] == {"0": "stop", "1": "stop"}
    assert seen["usage"]["total_tokens"] == 10
    assert seen["chunks"] > 3 and seen["ids"] == 1


# ---- responses ----------------------------------------------------------------------------


def test_node_sdk_gets_a_response_with_output_text(gateway: Gateway) -> None:
    seen = observe(gateway, "response")
    assert (seen["object"], seen["id_prefix"], seen["status"]) == ("response", "resp_", "completed")
    assert seen["output_text"] == "Hello there, gateway!"
    assert seen["output"] == [["message", "assistant", "completed"]]
    assert seen["metadata"] == {"team": "a"}
    usage = seen["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (5, 5, 10)
    assert seen["counted"] == "1"
    [row] = gateway.ledger()
    assert (row["request_id"], row["endpoint"]) == (seen["request_id"], "responses")


def test_node_sdk_streams_response_events_numbered_in_order(gateway: Gateway) -> None:
    seen = observe(gateway, "response_events")
    types = seen["types"]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert set(types[4:-4]) == {"response.output_text.delta"}
    assert seen["sequence_numbers"] == list(range(len(types)))
    assert "".join(seen["deltas"]) == "one two three four" and len(seen["deltas"]) >= 3
    assert (seen["final_status"], seen["final_output"]) == ("completed", "one two three four")
    assert seen["output_tokens"] == 4


def test_node_sdk_stream_helper_gives_the_final_response(gateway: Gateway) -> None:
    seen = observe(gateway, "response_stream_helper")
    assert seen == {
        "deltas": "stream me please",
        "output_text": "stream me please",
        "status": "completed",
        "id_prefix": "resp_",
    }


def test_node_sdk_continues_retrieves_and_deletes_a_stored_response(gateway: Gateway) -> None:
    seen = observe(gateway, "response_conversation")
    assert seen["second_text"] == "What is my name?"
    assert seen["second_previous"] == seen["first_id"]
    assert seen["second_input_tokens"] == 4 + 4 + 5  # the whole conversation is the input
    assert seen["retrieved_same"] and seen["retrieved_text"] == "What is my name?"
    assert seen["deleted"]["deleted"] is True
    assert seen["retrieve_after_delete"]["raised"] == "NotFoundError"
    assert seen["delete_again"]["raised"] == "NotFoundError"
    assert seen["continue_after_delete"] == {
        "raised": "BadRequestError",
        "status": 400,
        "code": "previous_response_not_found",
        "param": "previous_response_id",
        "type": "invalid_request_error",
    }


def test_node_sdk_streams_a_function_call_and_sends_its_output_back(gateway: Gateway) -> None:
    seen = observe(gateway, "response_tool_call")
    assert seen["call"] == ["function_call", "get_weather", {"city": "Rome"}, "call_"]
    assert json.loads(seen["last_snapshot"]) == {"city": "Rome"}  # the helper's accumulation
    assert seen["first_output_text"] == ""
    assert seen["stored"] == ["Tool result: 21C", True]
    # Output items sent back verbatim as input (what a stateless Node program does).
    assert seen["replayed"] == "Tool result: sunny"
    assert seen["follow_up"] == ["Bye", 2 + 2 + 1]


def test_node_sdk_does_not_retry_a_spent_daily_quota(
    start_gateway: Callable[..., Gateway],
) -> None:
    seen = observe(start_gateway(daily_limit=1), "quota")
    assert seen["first"] == "one"
    assert (seen["refused"]["raised"], seen["refused"]["code"]) == (
        "RateLimitError",
        "insufficient_quota",
    )
    assert seen["requests_sent"] == 2  # `x-should-retry: false` stops the SDK's two retries


def test_node_sdk_raises_before_iterating_a_refused_stream(gateway: Gateway) -> None:
    seen = observe(gateway, "stream_errors")
    assert seen["response_unknown_model"]["raised"] == "NotFoundError"
    assert seen["response_unknown_model"]["code"] == "model_not_found"
    assert seen["completion_bad_value"]["raised"] == "BadRequestError"
    assert seen["completion_bad_value"]["param"] == "n"


# ---- images -------------------------------------------------------------------------------


def test_node_sdk_generates_pngs_inline_and_as_gateway_links(gateway: Gateway) -> None:
    seen = observe(gateway, "images")
    default, inline, linked = seen["default"], seen["b64_json"], seen["url"]
    assert default["count"] == 1 and default["url"] is None and default["size"] == [128, 96]
    assert default["created_age"] < 60 and default["images_counted"] == "1"
    assert inline == {"url": None, "size": [128, 96]}
    assert linked["b64_json"] == [None, None] and linked["distinct"] == 2
    assert linked["prefixes"] == [gateway.base_url, gateway.base_url]
    for fetched in linked["fetched"]:  # fetched by Node without a key
        assert (fetched["status"], fetched["content_type"]) == (200, "image/png")
        assert fetched["size"] == [128, 96]
    # The same prompt gives the same first image, however it is delivered.
    assert [f["same_as_inline"] for f in linked["fetched"]] == [True, False]


def test_node_sdk_raises_not_found_and_bad_request_for_images(gateway: Gateway) -> None:
    seen = observe(gateway, "image_errors")
    assert seen["unknown_model"] == {
        "raised": "NotFoundError",
        "status": 404,
        "code": "model_not_found",
        "param": "model",
        "type": "invalid_request_error",
    }
    assert (seen["chat_model"]["raised"], seen["chat_model"]["code"]) == (
        "NotFoundError",
        "model_not_supported",
    )
    for bad, param in [(seen["bad_size"], "size"), (seen["too_many"], "n")]:
        assert (bad["raised"], bad["status"], bad["param"]) == ("BadRequestError", 400, param)


# ---- audio transcriptions -----------------------------------------------------------------


def test_node_sdk_transcribes_a_read_stream_and_a_file_to_json(gateway: Gateway) -> None:
    seen = observe(gateway, "transcriptions")
    assert seen["json"] == {
        "text": HEARD,
        "usage": {"type": "duration", "seconds": 3},
        "content_type": "application/json",
        "counted": "1",
    }
    verbose = seen["verbose_json"]
    assert (verbose["text"], verbose["duration"], verbose["language"]) == (HEARD, 2.5, "french")
    assert verbose["segments"] == [
        [0, 0, 1.154, "This is the Writingmate echo transcriber."],
        [1, 1.154, 2.5, "It heard 2.50 seconds of WAV audio."],
    ]
    assert verbose["words"] == HEARD.split()  # `timestamp_granularities[]` reached the gateway
    assert (verbose["first_word_start"], verbose["last_word_end"]) == (0, 2.5)


def test_node_sdk_returns_text_srt_and_vtt_as_plain_strings(gateway: Gateway) -> None:
    seen = observe(gateway, "transcriptions_as_text")
    for format in ("text", "srt", "vtt"):
        assert seen[format]["type"] == "string", format
        assert seen[format]["content_type"] == "text/plain; charset=utf-8", format
    assert seen["text"]["value"] == f"{HEARD}\n"
    assert seen["srt"]["value"] == (
        "1\n00:00:00,000 --> 00:00:01,154\nThis is the Writingmate echo transcriber.\n\n"
        "2\n00:00:01,154 --> 00:00:02,500\nIt heard 2.50 seconds of WAV audio.\n\n"
    )
    assert seen["vtt"]["value"] == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.154\nThis is the Writingmate echo transcriber.\n\n"
        "00:00:01.154 --> 00:00:02.500\nIt heard 2.50 seconds of WAV audio.\n\n"
    )
    rows = gateway.ledger()
    assert [(r["endpoint"], r["status"]) for r in rows] == [
        ("audio.transcriptions", "completed")
    ] * 3


def test_node_sdk_streams_transcript_deltas_then_done(gateway: Gateway) -> None:
    seen = observe(gateway, "transcription_stream")
    assert seen["types"] == ["transcript.text.delta"]
    assert "".join(seen["deltas"]) == HEARD and len(seen["deltas"]) == len(HEARD.split())
    assert seen["done"] == ["transcript.text.done", HEARD]


def test_node_sdk_gets_a_413_for_audio_over_25_mb(gateway: Gateway) -> None:
    seen = observe(gateway, "transcription_too_large")
    assert seen == {
        "raised": "APIError",  # the SDK has no class of its own for 413
        "status": 413,
        "code": "request_too_large",
        "param": "file",
        "type": "invalid_request_error",
    }
    assert gateway.ledger() == []


def test_node_sdk_raises_bad_request_and_not_found_for_transcriptions(gateway: Gateway) -> None:
    seen = observe(gateway, "transcription_errors")
    assert (seen["bad_format"]["raised"], seen["bad_format"]["param"]) == (
        "BadRequestError",
        "response_format",
    )
    assert (seen["chat_model"]["raised"], seen["chat_model"]["code"]) == (
        "NotFoundError",
        "model_not_supported",
    )


# ---- videos -------------------------------------------------------------------------------


@pytest.fixture
def videos(start_gateway: Callable[..., Gateway]) -> Gateway:
    return start_gateway(env={"WMGW_VIDEO_POLL_SECONDS": "0.05"})


def test_node_sdk_creates_polls_and_downloads_a_real_mp4(videos: Gateway) -> None:
    seen = observe(videos, "videos")
    assert seen["created"] == {
        "object": "video",
        "id_prefix": "video_",
        "status": "queued",
        "progress": 0,
        "model": "writingmate/echo-video",
        "seconds": "4",
        "size": "1280x720",
        "prompt": "A calico cat playing a piano",
    }
    assert seen["poll_after_ms"] == 100 and seen["counted"] == "1"
    assert any(status == "in_progress" and 0 < progress < 100 for status, progress in seen["seen"])
    assert seen["final"] == {
        "status": "completed",
        "progress": 100,
        "error": None,
        "completed": True,
    }
    content = seen["content"]
    assert (content["status"], content["content_type"]) == (200, "video/mp4")
    assert content["box"] == "ftyp" and content["has_mdat"] and content["bytes"] > 1000
    assert seen["thumbnail"] == {"content_type": "image/webp", "riff": "RIFF", "format": "WEBP"}


def test_node_sdk_raises_bad_request_and_not_found_for_videos(videos: Gateway) -> None:
    seen = observe(videos, "video_errors")
    assert (seen["bad_seconds"]["raised"], seen["bad_seconds"]["param"]) == (
        "BadRequestError",
        "seconds",
    )
    assert (seen["chat_model"]["raised"], seen["chat_model"]["code"]) == (
        "NotFoundError",
        "model_not_supported",
    )
    assert (seen["not_ready"]["raised"], seen["not_ready"]["code"]) == (
        "NotFoundError",
        "video_not_ready",
    )
    assert (seen["unknown"]["raised"], seen["unknown"]["code"]) == (
        "NotFoundError",
        "video_not_found",
    )
