"""The Responses API on top of the chat pipeline: a request becomes a chat completions body
(`providers/responses_translation.py`), runs through `gateway/chat.py` (routing, admission,
metering once, disconnects) like any chat request, and its chunks become a `response` and its
stream events (`providers/responses_events.py`). Responses are stored (unless `store: false`)
with their whole conversation, so `previous_response_id` can continue it."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from domain.errors import GatewayError, InvalidRequest, NotFound, UpstreamError
from domain.metering import Usage
from gateway.auth import Caller
from gateway.chat import ChatRun, begin_chat
from gateway.routing import route
from gateway.services import Services
from providers import sse
from providers.base import ChatProvider, Chunk
from providers.responses_events import ResponseEvents, error_code, new_id, shell
from providers.responses_translation import (
    chat_request,
    completion_chunk,
    input_items,
    response_usage,
)
from storage import responses as stored_responses
from storage.responses import StoredResponse

ENDPOINT = "responses"
Json = dict[str, Any]


@dataclass
class ResponseTurn:
    """One admitted `POST /responses`: its chat run, the response being built, and the
    conversation up to this turn's input (what is stored with the response)."""

    services: Services
    caller: Caller
    run: ChatRun
    events: ResponseEvents
    conversation: list[Json]
    store: bool

    async def complete(self) -> tuple[Json, dict[str, str]]:
        """The whole `response`, from the provider's non-streaming answer."""
        completion, headers = await self.run.complete()
        self.events.start()
        self.events.feed(completion_chunk(completion))
        self.events.finish(response_usage(completion["usage"]), int(time.time()))
        await self.save()
        return self.events.snapshot(), headers

    async def relay(
        self, run: ChatRun, first: Chunk | None, chunks: AsyncGenerator[Chunk, None]
    ) -> AsyncIterator[bytes]:
        """The chat chunks as Responses events. The request is metered, and the response
        stored, before the last event: a client that saw it can continue the conversation."""
        try:
            for event in self.events.start():
                yield _frame(event)
            async for chunk in _chain(first, chunks):
                relabeled = run.relabel.apply(chunk)
                for event in self.events.feed(relabeled) if relabeled is not None else []:
                    yield _frame(event)
            if not run.relabel.finished:
                raise UpstreamError("The upstream stream ended before the response was complete.")
            usage = await run.relabel.measured_usage(run.body)
            ending = self.events.finish(self._usage(usage), int(time.time()))
            await run.settle("completed", 200)
            await self.save()
        except GatewayError as exc:
            # What was streamed before the failure was delivered, so it is metered.
            await run.settle("interrupted", exc.status)
            usage = run.relabel.final_usage(run.body)  # measured by settle: no tokenizing
            ending = self.events.fail(error_code(exc.status), exc.message, self._usage(usage))
            await self.save()
        finally:
            await chunks.aclose()
            await run.settle("client_disconnected", 499)  # a no-op once settled above
        for event in ending:
            yield _frame(event)

    def _usage(self, usage: Usage) -> Json:
        return response_usage(self.run.relabel.reported_usage(usage))

    async def save(self) -> None:
        if not self.store:
            return
        response = self.events.snapshot()
        stored = StoredResponse(
            id=response["id"],
            workspace_id=self.caller.workspace_id,
            user_id=self.caller.user_id,
            response=response,
            input_items=self.conversation,
        )
        async with self.services.engine.begin() as conn:
            await stored_responses.put(conn, stored)


async def begin_response(services: Services, caller: Caller, request: Json) -> ResponseTurn:
    """Check the model (404/403), find the previous response (400), translate the request
    (400 for what chat cannot express), then admit it like a chat request (429)."""
    route(services, caller, request["model"], "chat", ChatProvider)
    conversation = [*await _history(services, caller, request), *input_items(request)]
    body = chat_request(request, conversation)
    run = await begin_chat(services, caller, body, endpoint=ENDPOINT)
    response = shell(request, response_id=new_id("resp"), created_at=int(time.time()))
    return ResponseTurn(
        services=services,
        caller=caller,
        run=run,
        events=ResponseEvents(response),
        conversation=conversation,
        store=request.get("store") is not False,
    )


async def _history(services: Services, caller: Caller, request: Json) -> list[Json]:
    """The items of the conversation that `previous_response_id` continues."""
    previous_id = request.get("previous_response_id")
    if not previous_id:
        return []
    previous = await _stored(services, caller, previous_id)
    if previous is None:
        raise InvalidRequest(
            f"Previous response with id '{previous_id}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    return previous.conversation


async def _stored(services: Services, caller: Caller, response_id: str) -> StoredResponse | None:
    async with services.engine.connect() as conn:
        return await stored_responses.get(conn, caller.workspace_id, response_id)


async def retrieve(services: Services, caller: Caller, response_id: str) -> Json:
    stored = await _stored(services, caller, response_id)
    if stored is None:
        raise _not_found(response_id)
    return stored.response


async def delete(services: Services, caller: Caller, response_id: str) -> Json:
    async with services.engine.begin() as conn:
        deleted = await stored_responses.remove(conn, caller.workspace_id, response_id)
    if not deleted:
        raise _not_found(response_id)
    return {"id": response_id, "object": "response", "deleted": True}


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.", param="response_id")


def _frame(event: Json) -> bytes:
    return sse.encode(event, event=event["type"])


async def _chain(first: Chunk | None, rest: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
    if first is not None:
        yield first
    async for chunk in rest:
        yield chunk
