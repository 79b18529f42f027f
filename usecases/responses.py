"""The Responses API on top of the chat pipeline: a request becomes a chat completions body
(`usecases/responses_translation.py`), runs through `usecases/chat.py` (routing, admission,
metering once, disconnects) like any chat request, and its chunks become a `response` and its
stream events (`usecases/responses_events.py`). Responses are stored (unless `store: false`)
with their whole conversation, so `previous_response_id` can continue it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from domain.charges import Ending
from domain.errors import GatewayError, InvalidRequest, NotFound
from domain.metering import Usage
from gateway.auth import Caller
from gateway.routing import route
from gateway.runs import Answer
from gateway.services import Services
from gateway.tickets import Ticket
from providers import sse
from providers.served import CHAT
from storage import responses as stored_responses
from storage.responses import StoredResponse
from usecases.chat import ChatRun, begin_chat
from usecases.responses_events import ResponseEvents, error_code, new_id, shell
from usecases.responses_translation import (
    chat_request,
    completion_chunk,
    input_items,
    response_usage,
)

ENDPOINT = "responses"
Json = dict[str, Any]


@dataclass
class ResponseTurn:
    """One admitted `POST /responses`: its chat run, the response being built, and the
    conversation up to this turn's input (what is stored with the response). It is run and
    settled by web/answers.py like a chat request; the response is stored before its
    last event, so a client that saw it can continue the conversation."""

    services: Services
    caller: Caller
    run: ChatRun
    events: ResponseEvents
    conversation: list[Json]
    store: bool
    streamed: bool

    @property
    def ticket(self) -> Ticket:
        return self.run.ticket

    async def complete(self) -> Answer:
        """The whole `response`, from the provider's non-streaming answer."""
        completion = await self.run.completion()
        self.events.response["model"] = self.run.model.slug  # a fallback may have served
        self.events.start()
        self.events.feed(completion_chunk(completion))
        self.events.finish(response_usage(completion["usage"]), int(time.time()))
        await self.save()
        return Answer(orjson.dumps(self.events.snapshot()))

    async def open(self) -> None:
        await self.run.open()

    async def frames(self) -> AsyncIterator[bytes]:
        """The chat chunks as Responses events."""
        self.events.response["model"] = self.run.model.slug  # a fallback may have served
        for event in self.events.start():
            yield _frame(event)
        async for chunk in self.run.chunks():
            for event in self.events.feed(chunk):
                yield _frame(event)

    async def ending_frames(self, ending: Ending, error: GatewayError | None) -> list[bytes]:
        usage = self._usage(ending.usage)
        if error is None:
            events = self.events.finish(usage, int(time.time()))
        else:
            events = self.events.fail(error_code(error.status), error.message, usage)
        await self.save()
        return [_frame(event) for event in events]

    async def usage(self) -> Usage:
        return await self.run.usage()

    def delivered(self) -> bool:
        return self.run.delivered()

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
    route(services, caller, request["model"], CHAT)
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
        streamed=bool(request.get("stream")),
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
