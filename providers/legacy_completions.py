"""OpenAI's legacy `POST /completions` served by a chat API: pure functions (no I/O) that turn a
`text_completion` request into one chat request per prompt, and the chat answers back into
`text_completion` choices.

- Prompt number `p` of a list gets choices `p * n` to `p * n + n - 1`, as OpenAI numbers them.
- `echo` puts the prompt in front of each choice's text.
- `logprobs: k` becomes the chat API's `logprobs: true, top_logprobs: k`, and its answer the
  legacy form (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`). Only OpenAI's chat
  wire format returns them; the gateway refuses the parameter for the other providers.
- What a chat model cannot honour (`suffix`, `best_of` above `n`, token-id prompts, the
  prompt's own log probabilities) is refused with a 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.errors import InvalidRequest
from domain.tokens import estimate_tokens

FINISH_REASONS = frozenset({"stop", "length", "content_filter"})
DEFAULT_MAX_TOKENS = 16  # what OpenAI generates on this endpoint when `max_tokens` is not set
MAX_CHOICES = 128  # prompts times `n`: each prompt is a chat call, so the fan-out is bounded
SAMPLING = ("temperature", "top_p", "n", "stop", "presence_penalty", "frequency_penalty")
PASSED_ON = (*SAMPLING, "seed", "logit_bias", "user")


def _refuse(message: str, param: str, code: str = "unsupported_parameter") -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


def finish_reason(value: Any) -> str | None:
    """Only the legacy endpoint's reasons reach clients: no reason yet is None, and anything
    else a chat model ends with (`tool_calls`, a provider's own value) is `stop`."""
    if not value:
        return None
    return value if value in FINISH_REASONS else "stop"


def prompts_of(body: Mapping[str, Any]) -> list[str]:
    """The prompts as text: a string, a list of strings, or none (an empty document)."""
    prompt = body.get("prompt")
    if prompt is None:
        return [""]
    if isinstance(prompt, str):
        return [prompt]
    if not prompt:
        raise _refuse("`prompt` must not be an empty list.", "prompt", "invalid_value")
    if all(isinstance(part, str) for part in prompt):
        if len(prompt) * (body.get("n") or 1) > MAX_CHOICES:
            raise InvalidRequest(
                f"Through a chat API, a request may ask for at most {MAX_CHOICES} choices "
                "(prompts times `n`); send the prompts in several requests.",
                param="prompt",
                code="invalid_value",
            )
        return list(prompt)
    raise _refuse(
        "This model is served through a chat API, which takes text: send `prompt` as a string "
        "or a list of strings, not token ids.",
        "prompt",
    )


def check_translatable(body: Mapping[str, Any], *, logprobs: bool) -> None:
    """Refuse what a chat API cannot do faithfully; `logprobs` says whether this provider's
    chat API returns log probabilities."""
    if body.get("suffix"):
        raise _refuse(
            "`suffix` (inserting text before a suffix) is only supported by models with the "
            "`completions` capability; this model is served through a chat API.",
            "suffix",
        )
    n = body.get("n") or 1
    best_of = body.get("best_of")
    if best_of is not None and best_of < n:
        raise InvalidRequest("`best_of` must be greater than or equal to `n`.", param="best_of")
    if best_of is not None and best_of > n:
        raise _refuse(
            "`best_of` above `n` (ranking candidates by log probability) is not supported for "
            "models served through a chat API.",
            "best_of",
        )
    if body.get("logprobs") is None:
        return
    if not logprobs:
        raise _refuse("This model's provider does not return log probabilities.", "logprobs")
    if body.get("echo"):
        raise _refuse(
            "`logprobs` with `echo` is not supported for models served through a chat API: "
            "they do not return the prompt's log probabilities.",
            "logprobs",
        )


def chat_request(body: Mapping[str, Any], prompt: str) -> dict[str, Any]:
    """The chat request for one prompt: the prompt as the one user message, OpenAI's default of
    16 tokens when `max_tokens` is not set, and the sampling parameters passed on."""
    request: dict[str, Any] = {
        "model": body["model"],
        "messages": [{"role": "user", "content": prompt}],
    }
    for key in PASSED_ON:
        if body.get(key) is not None:
            request[key] = body[key]
    limit = body.get("max_tokens")
    request["max_completion_tokens"] = DEFAULT_MAX_TOKENS if limit is None else limit
    if body.get("logprobs") is not None:
        request["logprobs"] = True
        request["top_logprobs"] = body["logprobs"]
    return request


def legacy_logprobs(chat_logprobs: Mapping[str, Any] | None, offset: int) -> dict[str, Any] | None:
    """The chat API's per-token log probabilities in the legacy form; `offset` is where the
    first token starts in the choice's text."""
    content = (chat_logprobs or {}).get("content")
    if not content:
        return None
    tokens, token_logprobs, top, offsets = [], [], [], []
    for item in content:
        token = str(item.get("token", ""))
        tokens.append(token)
        token_logprobs.append(item.get("logprob"))
        top.append(
            {str(a.get("token", "")): a.get("logprob") for a in item.get("top_logprobs") or []}
        )
        offsets.append(offset)
        offset += len(token)
    return {
        "tokens": tokens,
        "token_logprobs": token_logprobs,
        "top_logprobs": top,
        "text_offset": offsets,
    }


def add_usage(total: Mapping[str, Any] | None, usage: Mapping[str, Any]) -> dict[str, Any]:
    """Two chat usages as one (the prompts of a list are separate chat calls)."""
    before = total or {}

    def tokens(source: Mapping[str, Any], key: str) -> int:
        return int(source.get(key) or 0)

    def cached(source: Mapping[str, Any]) -> int:
        return int((source.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)

    prompt = tokens(before, "prompt_tokens") + tokens(usage, "prompt_tokens")
    completion = tokens(before, "completion_tokens") + tokens(usage, "completion_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached(before) + cached(usage)},
    }


@dataclass
class TextChunks:
    """The chat chunks of one prompt as `text_completion` chunks. Choices with nothing to say
    (a role-only delta) are left out; `None` when nothing of a chunk is left."""

    prompt: str
    first_index: int  # the choice index of this prompt's first choice
    echo: bool
    written: dict[int, int] = field(default_factory=dict)  # choice -> characters so far

    def translate(self, chunk: Mapping[str, Any]) -> dict[str, Any] | None:
        choices = [self._choice(c) for c in chunk.get("choices") or []]
        kept = [c for c in choices if c["text"] or c["finish_reason"] or c["logprobs"]]
        if not kept and not chunk.get("usage"):
            return None
        translated: dict[str, Any] = {"object": "text_completion", "choices": kept}
        if chunk.get("usage"):
            translated["usage"] = dict(chunk["usage"])
        if chunk.get("system_fingerprint"):
            translated["system_fingerprint"] = chunk["system_fingerprint"]
        return translated

    def _choice(self, choice: Mapping[str, Any]) -> dict[str, Any]:
        index = self.first_index + int(choice.get("index") or 0)
        text = (choice.get("delta") or {}).get("content") or ""
        if index not in self.written:
            self.written[index] = 0
            text = self.prompt + text if self.echo else text
        offset = self.written[index]
        self.written[index] += len(text)
        return {
            "text": text,
            "index": index,
            "logprobs": legacy_logprobs(choice.get("logprobs"), offset),
            "finish_reason": finish_reason(choice.get("finish_reason")),
        }


def text_choices(
    completion: Mapping[str, Any], prompt: str, first_index: int, echo: bool
) -> list[dict[str, Any]]:
    """A `chat.completion`'s choices as the `text_completion` choices of one prompt."""
    prefix = prompt if echo else ""
    choices = []
    for position, choice in enumerate(completion.get("choices") or []):
        message = choice.get("message") or {}
        choices.append(
            {
                "text": prefix + (message.get("content") or ""),
                "index": first_index + int(choice.get("index", position) or 0),
                "logprobs": legacy_logprobs(choice.get("logprobs"), len(prefix)),
                "finish_reason": finish_reason(choice.get("finish_reason")) or "stop",
            }
        )
    return choices


def text_completion(
    body: Mapping[str, Any], prompts: list[str], completions: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """One `text_completion` from the chat completions of each prompt, in prompt order. Its
    usage is their sum, or absent when one of them reported none (the gateway then estimates)."""
    n, echo = body.get("n") or 1, bool(body.get("echo"))
    choices: list[dict[str, Any]] = []
    usage: dict[str, Any] | None = None
    complete_usage = True
    answer: dict[str, Any] = {"object": "text_completion"}
    for position, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        choices.extend(text_choices(completion, prompt, position * n, echo))
        if completion.get("usage"):
            usage = add_usage(usage, completion["usage"])
        else:
            complete_usage = False
        if completion.get("system_fingerprint"):
            answer["system_fingerprint"] = completion["system_fingerprint"]
    answer["choices"] = sorted(choices, key=lambda c: c["index"])
    if usage is not None and complete_usage:
        answer["usage"] = usage
    return answer


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    """Prompt tokens when the upstream reported none: text by the offline tokenizer, token-id
    prompts by their length."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return estimate_tokens(prompt)
    total = 0
    for part in prompt or []:
        if isinstance(part, str):
            total += estimate_tokens(part)
        elif isinstance(part, list):
            total += len(part)
        else:
            total += 1
    return total
