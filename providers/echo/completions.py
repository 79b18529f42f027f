"""`writingmate/echo` on the legacy `POST /completions`, offline and deterministic.

Each prompt is answered through the chat translation of `providers/legacy_completions.py`: the
prompt becomes echo's chat request, and echo's chat answer to it becomes `text_completion`
choices. Being deterministic, echo honours what chat models cannot: `suffix` and `best_of`
change nothing (every candidate is the same answer), token-id prompts are echoed as their
numbers, and `logprobs` gives every generated token a log probability of 0 (it is certain of
each); with `echo`, the echoed prompt has no entries of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from domain.metering import Usage
from providers import legacy_completions as legacy
from providers.base import Chunk
from providers.chunks import collect, usage_payload
from providers.echo import chat as echo_chat


def prompt_texts(body: Mapping[str, Any]) -> list[str]:
    """Each prompt as text; token ids as their numbers, separated by spaces."""
    prompt = body.get("prompt")
    if prompt is None:
        return [""]
    if isinstance(prompt, str):
        return [prompt]
    if prompt and all(isinstance(part, int) for part in prompt):
        return [" ".join(str(token) for token in prompt)]
    return [p if isinstance(p, str) else " ".join(str(t) for t in p) for p in prompt]


def _logprobs(piece: str, top: int) -> dict[str, Any]:
    certain = {"token": piece, "logprob": 0.0, "bytes": list(piece.encode())}
    return {"content": [{**certain, "top_logprobs": [certain] if top else []}], "refusal": None}


def chat_chunks(body: Mapping[str, Any], prompt: str) -> list[Chunk]:
    """Echo's chat stream for one prompt, with log probabilities when they are asked for."""
    request = legacy.chat_request(body, prompt)
    result = echo_chat.answer(request)
    choices = range(int(body.get("n") or 1))
    top = body.get("logprobs")
    chunks: list[Chunk] = []
    for piece in echo_chat.WORD.findall(result.text or ""):
        logprobs = _logprobs(piece, top) if top is not None else None
        delta = {"content": piece}
        chunks.append(
            {"choices": [_choice(i, delta, logprobs, None) for i in choices]},
        )
    chunks.append({"choices": [_choice(i, {}, None, result.finish_reason) for i in choices]})
    usage = Usage(
        prompt_tokens=echo_chat.prompt_tokens(request["messages"]),
        completion_tokens=result.completion_tokens * len(choices),
    )
    chunks.append({"choices": [], "usage": usage_payload(usage)})
    return chunks


def _choice(
    index: int, delta: dict[str, Any], logprobs: dict[str, Any] | None, finish: str | None
) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}


async def _each(chunks: Iterable[Chunk]) -> AsyncIterator[Chunk]:
    for chunk in chunks:
        yield chunk


async def stream(body: Mapping[str, Any]) -> AsyncIterator[Chunk]:
    """`text_completion` chunks, prompt after prompt, then one usage chunk for all of them."""
    n, echo = int(body.get("n") or 1), bool(body.get("echo"))
    usage: dict[str, Any] | None = None
    for position, prompt in enumerate(prompt_texts(body)):
        translator = legacy.TextChunks(prompt, position * n, echo)
        for chunk in chat_chunks(body, prompt):
            translated = translator.translate(chunk)
            if translated is None:
                continue
            if "usage" in translated:
                usage = legacy.add_usage(usage, translated.pop("usage"))
            if translated["choices"]:
                yield translated
    yield {"object": "text_completion", "choices": [], "usage": usage}


async def complete(body: Mapping[str, Any]) -> dict[str, Any]:
    prompts = prompt_texts(body)
    answers = [await collect(_each(chat_chunks(body, prompt))) for prompt in prompts]
    return legacy.text_completion(body, prompts, answers)
