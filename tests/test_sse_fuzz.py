"""Hypothesis against the SSE decoder every provider reads upstreams with (providers/sse.py):
any valid stream, cut into chunks anywhere (inside a UTF-8 character, between CR and LF),
decodes to the events it was made of; arbitrary bytes decode the same however they are cut,
and raise nothing but the upstream's error (an event past the size limit)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.errors import UpstreamError
from providers.sse import Event, SSEDecoder

MANY = settings(max_examples=300, deadline=None)
NEWLINES = ["\n", "\r", "\r\n"]
line_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]))


@dataclass(frozen=True)
class Made:
    """A stream and the events it holds."""

    data: bytes
    events: list[Event]


@st.composite
def streams(draw: st.DrawFn) -> Made:
    lines: list[str] = []
    events: list[Event] = []
    last_id: str | None = None
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            lines.append(":" + draw(line_text))  # a comment (keep-alive)
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["retry: 3000", "unknown: field", "nocolon"])))
        name = draw(st.none() | line_text.filter(bool))
        if name is not None:
            lines.append(f"event: {name}")
        if draw(st.booleans()):
            last_id = draw(line_text)
            lines.append(f"id: {last_id}")
        data = draw(st.lists(line_text, min_size=1, max_size=4))
        lines += [f"data: {part}" for part in data]
        lines.append("")  # the blank line that dispatches
        events.append(Event(data="\n".join(data), event=name, id=last_id))
    newline = draw(st.sampled_from(NEWLINES))
    return Made("".join(line + newline for line in lines).encode(), events)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = [0, *sorted({p % (len(data) + 1) for p in points}), len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def decode(chunks: list[bytes], limit: int | None = None) -> list[Event]:
    decoder = SSEDecoder() if limit is None else SSEDecoder(max_event_chars=limit)
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + list(decoder.flush())


def decoded_or_refused(chunks: list[bytes], limit: int) -> list[Event] | str:
    try:
        return decode(chunks, limit)
    except UpstreamError:
        return "refused"


@MANY
@given(made=streams(), points=st.lists(st.integers(0, 10_000), max_size=30))
def test_a_valid_stream_cut_anywhere_decodes_to_its_events(made: Made, points: list[int]) -> None:
    assert decode([made.data]) == made.events
    assert decode(cut(made.data, points)) == made.events


@MANY
@given(made=streams())
def test_a_valid_stream_fed_byte_by_byte_decodes_to_its_events(made: Made) -> None:
    assert decode([made.data[i : i + 1] for i in range(len(made.data))]) == made.events


@MANY
@given(data=st.binary(max_size=400), points=st.lists(st.integers(0, 10_000), max_size=30))
@example(data=b"data: \xe2\x82", points=[7])  # a character cut short by the end
@example(data=b"data: a\r", points=[7])  # a CR held for the LF that never comes
@example(data=b"\xff\xfe\r\n\r\ndata:\x00\n\n", points=[1, 3])
def test_arbitrary_bytes_decode_the_same_however_they_are_cut(
    data: bytes, points: list[int]
) -> None:
    assert decode(cut(data, points)) == decode([data])


@MANY
@given(
    data=st.binary(max_size=300),
    points=st.lists(st.integers(0, 10_000), max_size=20),
    limit=st.integers(1, 64),
)
def test_arbitrary_bytes_raise_only_the_upstreams_error_and_wherever_they_are_cut(
    data: bytes, points: list[int], limit: int
) -> None:
    assert decoded_or_refused(cut(data, points), limit) == decoded_or_refused([data], limit)


def test_an_event_past_the_limit_is_the_upstreams_error_before_it_is_all_buffered() -> None:
    decoder = SSEDecoder(max_event_chars=1000)
    assert list(decoder.feed(b"data: " + b"x" * 500 + b"\n")) == []
    with pytest.raises(UpstreamError, match="larger than 1000"):
        list(decoder.feed(b"data: " + b"y" * 600))  # no line end yet: refused all the same


def test_an_event_at_the_limit_passes() -> None:
    event = "x" * 1000
    assert decode([f"data: {event}\n\n".encode()], limit=1006) == [Event(data=event)]


def test_a_long_line_in_many_small_chunks_takes_linear_time() -> None:
    """Each chunk is looked at once: a 4 MB line in 4 KB chunks used to rescan what was
    buffered at every chunk (about 2 GB of scanning)."""
    decoder = SSEDecoder()
    chunk = b"x" * 4096
    assert list(decoder.feed(b"data: ")) == []
    for _ in range(1024):
        assert list(decoder.feed(chunk)) == []
    [event] = list(decoder.feed(b"\n\n"))
    assert len(event.data) == 4096 * 1024


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


@MANY
@given(
    head=st.binary(max_size=60),
    values=st.lists(st.binary(max_size=40).filter(lambda v: b"\n" not in v), max_size=5),
    space=st.booleans(),
    limit=st.integers(1, 64),
)
@example(head=b"id: 7\n\n", values=[b"x"], space=True, limit=64)  # the id carries over
@example(head=b"data: \xe2\x82", values=[b"\xac"], space=True, limit=64)  # a split character
def test_chunks_of_whole_data_events_decode_as_the_line_reader_decodes_them(
    head: bytes, values: list[bytes], space: bool, limit: int
) -> None:
    """Whole `data:` events take a shortcut past the line reader: whatever came before,
    they decode, or are refused, as fed one byte at a time."""
    events = b"".join(b"data:" + (b" " if space else b"") + v + b"\n\n" for v in values)
    assert decoded_or_refused([head, events], limit) == decoded_or_refused(
        byte_by_byte(head + events), limit
    )
