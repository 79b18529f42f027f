"""Server-sent events: the incremental decoder every provider reads upstreams with, and the
encoder the gateway writes streams with."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from providers import sse
from providers.sse import Event, SSEDecoder

FAST = settings(max_examples=200, deadline=None)

STREAM = (
    b": ping\n\n"
    b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b"event: message\n"
    b"id: 7\n"
    b"data: first line\n"
    b"data: second line\n"
    b"\n"
    b": keep-alive\n"
    b"data:no space after colon\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    Event(data='{"choices":[{"delta":{"content":"Hel"}}]}'),
    Event(data="first line\nsecond line", event="message", id="7"),
    Event(data="no space after colon", id="7"),
    Event(data="[DONE]", id="7"),
]
CRLF_STREAM = STREAM.replace(b"\n", b"\r\n")


def decode(*chunks: bytes | str) -> list[Event]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + list(decoder.flush())


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted(set(cuts))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def test_decodes_a_whole_stream():
    assert decode(STREAM) == EXPECTED


def test_decodes_a_stream_fed_one_byte_at_a_time():
    assert decode(*[STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED


@FAST
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=60))
def test_events_split_across_arbitrary_chunk_boundaries_decode_the_same(cuts):
    assert decode(*split_at(STREAM, cuts)) == EXPECTED


@pytest.mark.parametrize("newline", [pytest.param("\r\n", id="CRLF"), pytest.param("\r", id="CR")])
def test_crlf_and_cr_line_endings_decode_like_lf(newline):
    assert decode(STREAM.decode().replace("\n", newline).encode()) == EXPECTED


def test_crlf_split_between_chunks_is_one_line_end():
    assert decode(b"data: a\r", b"\ndata: b\r\n\r\n") == [Event(data="a\nb")]


@FAST
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(CRLF_STREAM)), max_size=60))
@example(cuts=[CRLF_STREAM.index(b"message\r") + len(b"message\r")])
def test_crlf_stream_split_across_arbitrary_chunk_boundaries_decodes_the_same(cuts):
    crlf = CRLF_STREAM
    assert decode(*split_at(crlf, cuts)) == EXPECTED


def test_multibyte_character_split_between_chunks_is_kept():
    raw = "data: héllo 👋\n\n".encode()
    cut = raw.index("é".encode()) + 1
    assert decode(raw[:cut], raw[cut:]) == [Event(data="héllo 👋")]


@FAST
@given(cuts=st.lists(st.integers(min_value=0, max_value=64), min_size=1, max_size=10))
@example(cuts=[len('data: {"content":"Gr') + 1])
def test_non_ascii_stream_split_across_arbitrary_chunk_boundaries_decodes_the_same(cuts):
    raw = sse.encode({"content": "Grüße, 世界 👋"}) + sse.encode({"content": "ça va?"})
    events = decode(*split_at(raw, cuts))
    assert [json.loads(e.data) for e in events] == [
        {"content": "Grüße, 世界 👋"},
        {"content": "ça va?"},
    ]


def test_comments_are_ignored():
    assert decode(b": ping\n\n: another\n\ndata: x\n\n") == [Event(data="x")]


def test_multi_line_data_is_joined_with_newlines():
    assert decode(b"data: a\ndata: b\ndata: c\n\n") == [Event(data="a\nb\nc")]


def test_event_name_applies_to_one_event_only():
    assert decode(b"event: delta\ndata: 1\n\ndata: 2\n\n") == [
        Event(data="1", event="delta"),
        Event(data="2"),
    ]


def test_last_event_without_trailing_blank_line_is_flushed():
    assert decode(b"data: 1\n\ndata: 2") == [Event(data="1"), Event(data="2")]
    assert decode(b"data: 1\n\ndata: 2\n") == [Event(data="1"), Event(data="2")]


def test_flush_of_an_empty_decoder_yields_nothing():
    assert decode() == []
    assert decode(b"\n\n: ping\n\n") == []


GEMINI_TAIL = b"""{
  "error": {
    "code": 503,
    "message": "The model is overloaded. Please try again later.",
    "status": "UNAVAILABLE"
  }
}
"""


def test_bare_json_after_the_events_is_one_more_event():
    """How Gemini ends a failing 200 stream: pretty-printed JSON with no `data:` framing."""
    events = decode(b'data: {"a": 1}\r\n\r\n' + GEMINI_TAIL)
    assert events[0] == Event(data='{"a": 1}')
    assert json.loads(events[1].data)["error"]["code"] == 503
    assert len(events) == 2


def test_bare_json_fed_one_byte_at_a_time_decodes_the_same():
    raw = b'data: {"a": 1}\n\n' + GEMINI_TAIL.rstrip(b"\n")
    assert decode(*[raw[i : i + 1] for i in range(len(raw))]) == decode(raw)


def test_bare_json_ends_at_a_blank_line_or_a_field():
    assert decode(b'{"x": 1}\n\ndata: 2\n\n') == [Event(data='{"x": 1}'), Event(data="2")]
    assert decode(b'{"x":\n 1}\ndata: 2\n\n') == [Event(data='{"x":\n 1}'), Event(data="2")]


def test_other_lines_outside_the_framing_are_still_ignored():
    assert decode(b"retry: 100\nunknown field\ndata: 1\n\n") == [Event(data="1")]


def test_done_marker_is_an_ordinary_event():
    assert decode(sse.DONE) == [Event(data="[DONE]")]


def test_only_one_leading_space_is_removed_from_values():
    assert decode(b"data:  two spaces \n\n") == [Event(data=" two spaces ")]


def test_str_chunks_decode_like_bytes():
    assert decode(STREAM.decode()) == EXPECTED


async def test_events_reads_an_async_byte_stream():
    async def chunks():
        for piece in split_at(STREAM, [3, 17, 40, 41, 90]):
            yield piece

    assert [event async for event in sse.events(chunks())] == EXPECTED


async def test_events_flushes_an_unterminated_last_event():
    async def chunks():
        yield b"data: 1\n\ndata: "
        yield b"2"

    assert [event async for event in sse.events(chunks())] == [Event("1"), Event("2")]


def test_encode_is_compact_data_line_and_blank_line():
    assert sse.encode({"a": 1, "b": [1, 2]}) == b'data: {"a":1,"b":[1,2]}\n\n'


def test_encode_keeps_non_ascii_as_utf8():
    assert sse.encode({"text": "é"}) == 'data: {"text":"é"}\n\n'.encode()


def test_encode_with_event_name_adds_an_event_line():
    assert sse.encode({"x": 1}, event="response.delta") == (
        b'event: response.delta\ndata: {"x":1}\n\n'
    )


def test_encode_escapes_newlines_in_strings_so_one_event_stays_one_data_line():
    encoded = sse.encode({"text": "line 1\nline 2\r\n"})
    assert encoded.count(b"\n") == 2
    assert b"\r" not in encoded


def test_comment_is_a_ping_keep_alive():
    assert sse.comment() == b": ping\n\n"
    assert sse.comment("hello") == b": hello\n\n"
    assert decode(sse.comment()) == []


def test_done_constant():
    assert sse.DONE == b"data: [DONE]\n\n"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@FAST
@given(
    payloads=st.lists(json_values, min_size=1, max_size=5),
    name=st.none() | st.sampled_from(["delta", "message_stop", "ping"]),
)
def test_encode_then_decode_round_trips(payloads, name):
    stream = b"".join(sse.encode(p, event=name) for p in payloads) + sse.comment()
    events = decode(stream)
    assert [json.loads(e.data) for e in events] == payloads
    assert all(e.event == name for e in events)
