"""Audio transcriptions end to end: route the model, admit against the quota, have the
provider transcribe, and meter the request (one message at least, more when the upstream
reports token usage)."""

from __future__ import annotations

from dataclasses import replace

import anyio

from domain.errors import GatewayError
from domain.metering import Usage
from gateway.auth import Caller
from gateway.chat import metering_headers
from gateway.metering import Outcome
from gateway.multipart import Form
from gateway.routing import route
from gateway.services import Services
from providers import sse
from providers.base import TranscriptionProvider
from providers.transcripts import TranscriptionRequest, TranscriptionResult, stream_events

ENDPOINT = "audio.transcriptions"


def as_stream(result: TranscriptionResult) -> TranscriptionResult:
    """The result as OpenAI's SSE transcription stream (the whole transcript, at once)."""
    frames = b"".join(sse.encode(event) for event in stream_events(result))
    return replace(result, content=frames, media_type="text/event-stream; charset=utf-8")


def transcription_request(form: Form) -> TranscriptionRequest:
    """The request as providers see it. A streamed request is transcribed whole and streamed
    by the gateway, so `stream` is not passed on."""
    parts = [(name, value) for name, value in form.parts if name != "stream"]
    return TranscriptionRequest(form.files["file"], form.fields, parts)


async def transcribe(
    services: Services, caller: Caller, form: Form
) -> tuple[TranscriptionResult, dict[str, str]]:
    """The provider's answer and the metering headers, the request settled exactly once."""
    request = transcription_request(form)
    routed = route(services, caller, request.model, "transcription", TranscriptionProvider)
    admission = await services.meter.admit(caller, charged=not routed.own_key)
    usage, status, http_status = Usage(), "client_disconnected", 499
    try:
        result = await routed.provider.transcribe(request, routed.model)
        usage, status, http_status = result.usage or Usage(), "completed", 200
        if request.streamed:
            result = as_stream(result)
    except GatewayError as exc:
        status, http_status = "upstream_error", exc.status
        raise
    finally:
        outcome = Outcome(usage, status, http_status)
        where = (ENDPOINT, routed.model.slug, routed.model.provider)
        with anyio.CancelScope(shield=True):
            allowance = await services.meter.settle(caller, admission, where, outcome)
    remaining = allowance.remaining if allowance is not None else None
    return result, metering_headers(outcome.messages, remaining)
