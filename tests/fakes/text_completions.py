"""OpenAI's legacy ``POST /v1/completions`` answers, for the fake OpenAI upstream.

Shapes per ``CreateCompletionRequest``/``CreateCompletionResponse`` in the official schemas:
``object: "text_completion"`` for the body and every stream chunk (one id for all of
them), ``choices[{text, index, logprobs, finish_reason}]``, choices of prompt ``p``
numbered ``p * n + j``, interleaved when streamed, a last chunk per choice with ``text: ""`` and
its ``finish_reason``, and with ``stream_options.include_usage`` ``usage: null`` on every chunk
then one ``choices: []`` chunk with the usage. ``max_tokens`` defaults to 16; tokens are
whitespace-led words. Like ``gpt-3.5-turbo-instruct``, ``echo`` with ``logprobs`` is refused.
"""

from __future__ import annotations

import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
DEFAULT_MAX_TOKENS = 16
_ALNUM = string.ascii_letters + string.digits


def prompts(body: JSON) -> list[str]:
    """A string, strings, token ids (read as their decimal text) or lists of token ids."""
    prompt = body.get("prompt")
    if prompt is None:
        return [""]
    if isinstance(prompt, str):
        return [prompt]
    if prompt and all(isinstance(p, int) for p in prompt):
        return [" ".join(str(p) for p in prompt)]
    return [p if isinstance(p, str) else " ".join(str(t) for t in p) for p in prompt]


def request_error(body: Any) -> tuple[str, str | None, str | None] | None:
    """(message, param, code) of the 400 OpenAI sends for this request, or None."""
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request.", None, None
    if not body.get("model"):
        return "you must provide a model parameter", None, None
    if "prompt" not in body:
        return "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
    if body.get("echo") and body.get("logprobs") is not None:
        return (
            "Setting 'echo' and 'logprobs' at the same time is not supported for this model.",
            None,
            None,
        )
    return None


def _pieces(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text) or ([text] if text else [])


def _stop(text: str, stop: Any) -> tuple[str, bool]:
    for sequence in [stop] if isinstance(stop, str) else stop or []:
        if sequence and sequence in text:
            return text[: text.index(sequence)], True
    return text, False


def _logprobs(pieces: list[str], offset: int, top: int) -> JSON:
    return {
        "tokens": pieces,
        "token_logprobs": [-0.5 for _ in pieces],
        "top_logprobs": [
            {piece: -0.5, **{f"alt{k}": -2.0 - k for k in range(top - 1)}} for piece in pieces
        ],
        "text_offset": [offset + sum(len(p) for p in pieces[:i]) for i in range(len(pieces))],
    }


@dataclass
class _Choice:
    index: int
    prefix: str  # the echoed prompt
    pieces: list[str]
    finish_reason: str


@dataclass
class TextPlan:
    id: str
    created: int
    model: str
    choices: list[_Choice]
    usage: JSON
    top_logprobs: int | None
    system_fingerprint: str
    extra: dict[str, str] = field(default_factory=dict)  # response headers

    def _choice(self, choice: _Choice, pieces: list[str], offset: int, finish: str | None) -> JSON:
        logprobs = None
        if self.top_logprobs is not None:
            logprobs = _logprobs(pieces, offset, self.top_logprobs)
        return {
            "text": "".join(pieces),
            "index": choice.index,
            "logprobs": logprobs,
            "finish_reason": finish,
        }

    def completion(self) -> JSON:
        return {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                self._choice(c, [c.prefix, *c.pieces] if c.prefix else c.pieces, 0, c.finish_reason)
                for c in self.choices
            ],
            "usage": self.usage,
            "system_fingerprint": self.system_fingerprint,
        }

    def chunks(self, include_usage: bool) -> list[JSON]:
        """Interleaved: every choice's first piece, then every choice's second, and so on."""
        streams = [self._choice_chunks(c) for c in self.choices]
        chunks = []
        for step in range(max(len(s) for s in streams)):
            chunks.extend(self._chunk([s[step]], include_usage) for s in streams if step < len(s))
        if include_usage:
            chunks.append({**self._chunk([], True), "usage": self.usage})
        return chunks

    def _choice_chunks(self, choice: _Choice) -> list[JSON]:
        pieces = ([choice.prefix] if choice.prefix else []) + choice.pieces
        out, offset = [], 0
        for piece in pieces:
            out.append(self._choice(choice, [piece], offset, None))
            offset += len(piece)
        last = {"text": "", "index": choice.index, "logprobs": None}
        return [*out, {**last, "finish_reason": choice.finish_reason}]

    def _chunk(self, choices: list[JSON], include_usage: bool) -> JSON:
        chunk: JSON = {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "choices": choices,
            "model": self.model,
            "system_fingerprint": self.system_fingerprint,
        }
        if include_usage:
            chunk["usage"] = None
        return chunk


def plan(
    body: JSON,
    *,
    text: str | None,
    finish_reason: str | None,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    model: str | None,
    chunks: list[str] | None,
    system_fingerprint: str,
    headers: dict[str, str],
) -> TextPlan:
    """The answer to ``body``: ``text`` (or else a space and the prompt again) for every
    choice, cut at ``stop`` and ``max_tokens``; scripted counts replace the word counts."""
    n = int(body.get("n") or 1)
    limit = body.get("max_tokens")
    limit = DEFAULT_MAX_TOKENS if limit is None else int(limit)
    echo = bool(body.get("echo"))
    choices, produced = [], 0
    for position, prompt in enumerate(prompts(body)):
        answer, stopped = _stop(text if text is not None else f" {prompt}", body.get("stop"))
        pieces = list(chunks) if chunks is not None else _pieces(answer)
        finish = "length" if len(pieces) > limit and not stopped else "stop"
        pieces = pieces[:limit]
        for j in range(n):
            choices.append(
                _Choice(position * n + j, prompt if echo else "", pieces, finish_reason or finish)
            )
            produced += len(pieces)
    prompt_count = (
        prompt_tokens if prompt_tokens is not None else sum(len(p.split()) for p in prompts(body))
    )
    completion_count = completion_tokens if completion_tokens is not None else produced
    return TextPlan(
        id="cmpl-" + "".join(secrets.choice(_ALNUM) for _ in range(29)),
        created=int(time.time()),
        model=model or str(body["model"]),
        choices=choices,
        usage={
            "prompt_tokens": prompt_count,
            "completion_tokens": completion_count,
            "total_tokens": prompt_count + completion_count,
        },
        top_logprobs=body.get("logprobs"),
        system_fingerprint=system_fingerprint,
        extra=headers,
    )
