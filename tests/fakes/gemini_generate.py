"""Gemini's `generateContent` and `streamGenerateContent` answers, for the fake Gemini upstream.

A scripted :class:`Reply` (or, unscripted, the transcript of the request's audio, else an echo of
the last user text) is resolved against the request into a :class:`GeneratePlan`, which renders
one `GenerateContentResponse` or the stream's events: usage as running totals on every event,
`finishReason` on the last one, and one thought signature per response, on its first
`functionCall` part. Token counts default to whitespace-separated words.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import gemini_audio
from .gemini_files import FilesApi

JSON = dict[str, Any]
CallSpec = tuple[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Reply:
    """A canned successful generate call; `None` counts and text are filled from the request."""

    text: str | None = None
    function_calls: Sequence[CallSpec] = ()
    thought: str | None = None
    finish_reason: str = "STOP"
    prompt_tokens: int | None = None
    candidates_tokens: int | None = None
    cached_tokens: int = 0
    thoughts_tokens: int = 0
    block_reason: str | None = None
    chunks: Sequence[str] | None = None
    candidates: int = 1
    stream_error: JSON | None = None  # sent as one more event after the text, then EOF
    # The error as Gemini really ends a failing stream: pretty-printed JSON, no `data:` framing.
    bare_error: bool = False
    error_after_events: int | None = None  # the error after this many events (default: all)


@dataclass
class GeneratePlan:
    """A resolved answer, rendered as one `GenerateContentResponse` or as stream events."""

    reply: Reply
    text: str | None
    prompt: int
    candidates: int
    model: str
    response_id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    audio_tokens: int = 0
    signature: str = field(default_factory=lambda: "CikBcsjafFK1" + secrets.token_hex(8))

    def usage(self, candidates: int | None = None) -> JSON:
        used = self.candidates if candidates is None else candidates
        usage: JSON = {
            "promptTokenCount": self.prompt,
            "candidatesTokenCount": used,
            "totalTokenCount": self.prompt + used + self.reply.thoughts_tokens,
            "promptTokensDetails": gemini_audio.prompt_details(self.prompt, self.audio_tokens),
        }
        if self.reply.thoughts_tokens:
            usage["thoughtsTokenCount"] = self.reply.thoughts_tokens
        if self.reply.cached_tokens:
            usage["cachedContentTokenCount"] = self.reply.cached_tokens
            usage["cacheTokensDetails"] = [
                {"modality": "TEXT", "tokenCount": self.reply.cached_tokens}
            ]
        return usage

    def _envelope(self, candidates: list[JSON], usage: JSON) -> JSON:
        return {
            "candidates": candidates,
            "usageMetadata": usage,
            "modelVersion": self.model,
            "responseId": self.response_id,
        }

    def _blocked(self) -> JSON:
        return {
            "promptFeedback": {
                "blockReason": self.reply.block_reason,
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                ],
            },
            "usageMetadata": {"promptTokenCount": self.prompt, "totalTokenCount": self.prompt},
            "modelVersion": self.model,
            "responseId": self.response_id,
        }

    def _parts(self, text: str | None, calls: bool, thought: bool) -> list[JSON]:
        parts: list[JSON] = []
        if thought and self.reply.thought:
            parts.append({"text": self.reply.thought, "thought": True})
        if text:
            parts.append({"text": text})
        if calls:
            for n, (name, args) in enumerate(self.reply.function_calls):
                part: JSON = {"functionCall": {"name": name, "args": dict(args)}}
                if n == 0:  # one signature per response, on its first call
                    part["thoughtSignature"] = self.signature
                parts.append(part)
        return parts

    def _candidate(self, index: int, parts: list[JSON], finish: bool) -> JSON:
        candidate: JSON = {"content": {"parts": parts, "role": "model"}, "index": index}
        if finish:
            candidate["finishReason"] = self.reply.finish_reason
            if self.reply.function_calls:
                candidate["finishMessage"] = "Model generated function call(s)."
        return candidate

    def response(self) -> JSON:
        if self.reply.block_reason:
            return self._blocked()
        parts = self._parts(self.text, True, True)
        candidates = [self._candidate(i, parts, True) for i in range(self.reply.candidates)]
        return self._envelope(candidates, self.usage())

    def events(self) -> list[JSON]:
        if self.reply.block_reason:
            return [self._blocked()]
        pieces = (
            list(self.reply.chunks)
            if self.reply.chunks is not None
            else re.findall(r"\s*\S+", self.text or "")
        )
        steps: list[tuple[str | None, bool, bool]] = []  # text, calls, thought
        if self.reply.thought:
            steps.append((None, False, True))
        steps.extend((piece, False, False) for piece in pieces)
        if self.reply.function_calls:
            steps.append((None, True, False))
        if not steps:
            steps.append(("", False, False))
        events: list[JSON] = []
        produced = 0
        for n, (text, calls, thought) in enumerate(steps):
            produced += _words(text or "")
            last = n == len(steps) - 1
            parts = self._parts(text, calls, thought)
            candidates = [self._candidate(i, parts, last) for i in range(self.reply.candidates)]
            used = self.candidates if last else min(produced, self.candidates)
            events.append(self._envelope(candidates, self.usage(used)))
        return events


def plan(body: JSON, reply: Reply, model: str, files: FilesApi) -> GeneratePlan:
    """Resolve a (possibly empty) :class:`Reply` against the request; an unscripted answer
    transcribes the request's audio or else echoes the last user text."""
    text = reply.text
    if text is None and not reply.function_calls:
        text = gemini_audio.transcript(body, files) or _last_user_text(body)
    audio = gemini_audio.audio_tokens(body, files)
    prompt = reply.prompt_tokens
    if prompt is None:
        prompt = _prompt_words(body) + audio
    candidates = reply.candidates_tokens
    if candidates is None:
        candidates = _words(text or "") + sum(
            1 + len(json.dumps(dict(a)).split()) for _, a in reply.function_calls
        )
    return GeneratePlan(reply, text, prompt, candidates, model, audio_tokens=min(audio, prompt))


def _words(text: str) -> int:
    return len(text.split())


def _prompt_words(body: Mapping[str, Any]) -> int:
    total = 0
    contents = list(body.get("contents") or [])
    if body.get("systemInstruction"):
        contents.append(body["systemInstruction"])
    for content in contents:
        for part in content.get("parts") or []:
            total += _words(str(part.get("text") or "")) + (1 if "inlineData" in part else 0)
    return total


def _last_user_text(body: Mapping[str, Any]) -> str:
    for content in reversed(body.get("contents") or []):
        if content.get("role", "user") == "user":
            texts = [p["text"] for p in content.get("parts") or [] if "text" in p]
            if texts:
                return " ".join(texts)
    return "Hello!"
