"""Audio transcriptions end to end: route the model, admit what the audio can cost, have the
provider transcribe, and meter the request (one message at least, more when the upstream
reports token usage), run and settled by web/answers.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from domain import estimates
from domain.catalog import ModelEntry
from domain.metering import Usage
from gateway.auth import Caller
from gateway.routing import admit, route
from gateway.runs import Answer
from gateway.services import Services
from gateway.tickets import Claim, Ticket
from providers import sse
from providers.base import TranscriptionProvider
from providers.served import TRANSCRIPTIONS
from providers.transcripts import Audio, TranscriptionRequest, TranscriptionResult, stream_events

ENDPOINT = "audio.transcriptions"


class Form(Protocol):
    """The request's multipart form, as the web layer parsed and validated it."""

    @property
    def fields(self) -> dict[str, Any]: ...

    @property
    def parts(self) -> list[tuple[str, str]]:
        """The text parts as sent."""

    @property
    def files(self) -> Mapping[str, Audio]: ...

    async def aclose(self) -> None:
        """Remove the spooled files."""


def as_stream(result: TranscriptionResult) -> TranscriptionResult:
    """The result as OpenAI's SSE transcription stream (the whole transcript, at once)."""
    frames = b"".join(sse.encode(event) for event in stream_events(result))
    return replace(result, content=frames, media_type="text/event-stream; charset=utf-8")


def transcription_request(form: Form) -> TranscriptionRequest:
    """The request as providers see it. A streamed request is transcribed whole and streamed
    by the gateway, so `stream` is not passed on."""
    parts = [(name, value) for name, value in form.parts if name != "stream"]
    return TranscriptionRequest(form.files["file"], form.fields, parts)


@dataclass
class TranscriptionRun:
    """One admitted transcription; it owns the uploaded form until it is done."""

    ticket: Ticket
    request: TranscriptionRequest
    model: ModelEntry
    provider: TranscriptionProvider
    form: Form
    result: TranscriptionResult | None = None
    streamed: bool = False  # a transcript asked as a stream is sent whole, as one body

    async def complete(self) -> Answer:
        try:
            self.result = await self.provider.transcribe(self.request, self.model)
        finally:
            await self.form.aclose()
        result = as_stream(self.result) if self.request.streamed else self.result
        return Answer(result.content, result.media_type)

    async def usage(self) -> Usage:
        return (self.result.usage if self.result else None) or Usage()

    def delivered(self) -> bool:
        return self.result is not None


def transcription_claim(form: Form) -> Claim:
    upload = form.files["file"]
    prompt = str(form.fields.get("prompt") or "")
    return Claim(prompt_tokens=estimates.audio_tokens(upload.size) + estimates.text_tokens(prompt))


async def begin_transcription(services: Services, caller: Caller, form: Form) -> TranscriptionRun:
    """Route the model (404/403) and admit what the audio can cost (429)."""
    request = transcription_request(form)
    routed = route(services, caller, request.model, TRANSCRIPTIONS)
    ticket = await admit(services, caller, ENDPOINT, routed, transcription_claim(form))
    return TranscriptionRun(ticket, request, routed.model, routed.provider, form)
