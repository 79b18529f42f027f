"""Google Gemini API (`v1beta` `generateContent` / `streamGenerateContent?alt=sse`).

The translators are pure functions on plain data (docs/providers/gemini.md):

- `to_upstream(body, model)`: an OpenAI chat request -> a `GenerateContentRequest`;
- `to_completion(response)`: a `GenerateContentResponse` -> a `chat.completion`;
- `to_chunks(event, state)`: one streamed `GenerateContentResponse` -> `chat.completion.chunk`s
  (`state` remembers what earlier events of the same stream produced), and
  `final_chunks(state)`: the usage chunk at the end of the stream.

The provider class only moves bytes through `providers.upstream`. What is mapped, approximated
or refused is listed in docs/providers/gemini.md.
"""

from __future__ import annotations

import functools
import json
import mimetypes
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import InvalidRequest, UpstreamError
from domain.images import ImageRequest
from providers import gemini_embeddings, gemini_transcriptions, imagen, rows, upstream
from providers import gemini_signatures as signatures
from providers.base import Chunk, ImageResult
from providers.chunks import new_call_id
from providers.gemini_errors import error_of, read_error
from providers.gemini_errors import ours as _ours
from providers.http_client import HttpClient
from providers.rows import Row
from providers.transcripts import TranscriptionRequest, TranscriptionResult

API_VERSION = "v1beta"
JSON = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Request: OpenAI chat body -> GenerateContentRequest
# --------------------------------------------------------------------------------------------

# Keys Gemini's JSON-Schema subset refuses or that only describe the document itself.
_SCHEMA_DROP = frozenset({"$schema", "$id", "$comment"})

# reasoning_effort -> thinkingBudget; within the range every Gemini 2.5 model accepts
# (flash 0..24576, pro 128..32768; `none` on pro is refused upstream with a 400).
THINKING_BUDGETS = {
    "none": 0,
    "minimal": 512,
    "low": 1024,
    "medium": 8192,
    "high": 24576,
    "xhigh": 24576,
    "max": 24576,
}

# Files uploaded through the Gemini Files API are the only URLs Gemini reads itself.
_FILE_URI_PREFIXES = ("https://generativelanguage.googleapis.com/", "gs://")


def _refuse(message: str, param: str, code: str = "unsupported_parameter") -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


def _clean_schema(schema: Any) -> Any:
    """A JSON Schema without the keys Gemini refuses (recursively)."""
    if isinstance(schema, dict):
        return {k: _clean_schema(v) for k, v in schema.items() if k not in _SCHEMA_DROP}
    if isinstance(schema, list):
        return [_clean_schema(v) for v in schema]
    return schema


def _data_url(url: str, param: str) -> JSON:
    """`data:<mime>;base64,<data>` -> `inlineData`."""
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise _refuse("Only base64 `data:` URLs can be sent inline.", param, "invalid_image_url")
    mime = head.removeprefix("data:").removesuffix(";base64") or "application/octet-stream"
    return {"inlineData": {"mimeType": mime, "data": data}}


def _image_part(part: Mapping[str, Any], param: str) -> JSON:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str):
        raise _refuse("`image_url.url` must be a string.", f"{param}.image_url.url")
    if url.startswith("data:"):
        return _data_url(url, f"{param}.image_url.url")
    if url.startswith(_FILE_URI_PREFIXES):
        file_data: JSON = {"fileUri": url}
        mime, _ = mimetypes.guess_type(url)
        if mime:
            file_data["mimeType"] = mime
        return {"fileData": file_data}
    raise _refuse(
        "Gemini models take images as base64 `data:` URLs (or Gemini Files API URIs); "
        "fetch the image and send it as `data:image/...;base64,...`.",
        f"{param}.image_url.url",
        "unsupported_image_url",
    )


def _user_parts(content: Any, param: str) -> list[JSON]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list):
        raise _refuse("`content` must be a string or a list of parts.", param, "invalid_content")
    parts: list[JSON] = []
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            parts.append({"text": str(part.get("text") or "")})
        elif kind == "refusal":
            parts.append({"text": str(part.get("refusal") or "")})
        elif kind == "image_url":
            parts.append(_image_part(part, where))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            mime = f"audio/{audio.get('format') or 'wav'}"
            parts.append({"inlineData": {"mimeType": mime, "data": audio.get("data") or ""}})
        elif kind == "file" and str((part.get("file") or {}).get("file_data", "")).startswith(
            "data:"
        ):
            parts.append(_data_url(part["file"]["file_data"], f"{where}.file.file_data"))
        else:
            raise _refuse(
                f"Content parts of type `{kind}` are not supported by Gemini models.", where
            )
    return parts


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text") or "") for p in content if isinstance(p, Mapping) and "text" in p
        )
    return ""


def _arguments(raw: Any, param: str) -> Any:
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        args = json.loads(raw or "{}")
    except (TypeError, ValueError) as exc:
        raise _refuse("Tool call `arguments` must be JSON.", param, "invalid_tool_call") from exc
    return args if isinstance(args, dict) else {"value": args}


def _tool_result(content: Any) -> JSON:
    """A tool message's content as a `functionResponse.response` object."""
    text = _text_of(content)
    try:
        value = json.loads(text)
    except ValueError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


def _contents(messages: Sequence[Any], signed: bool = False) -> tuple[list[JSON], list[JSON]]:
    """(`systemInstruction` parts, `contents`), adjacent turns of one role merged."""
    system: list[JSON] = []
    contents: list[JSON] = []
    call_names: dict[str, str] = {}

    def add(role: str, parts: list[JSON]) -> None:
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text_of(message.get("content"))
            if text:
                system.append({"text": text})
        elif role == "user":
            add("user", _user_parts(message.get("content"), f"{param}.content"))
        elif role == "assistant":
            parts: list[JSON] = []
            text = _text_of(message.get("content"))
            if text:
                parts.append({"text": text})
            calls = message.get("tool_calls") or []
            call_parts: list[JSON] = []
            for k, call in enumerate(calls):
                function = call.get("function") or {}
                name = str(function.get("name") or "")
                call_names[str(call.get("id"))] = name
                args = _arguments(
                    function.get("arguments"), f"{param}.tool_calls[{k}].function.arguments"
                )
                call_parts.append({"functionCall": {"name": name, "args": args}})
            add("model", parts + signatures.signed(call_parts, calls, signed))
        elif role in ("tool", "function"):
            if role == "tool":
                call_id = str(message.get("tool_call_id"))
                if call_id not in call_names:
                    raise _refuse(
                        f"No earlier assistant tool call has the id `{call_id}`.",
                        f"{param}.tool_call_id",
                        "invalid_tool_call_id",
                    )
                name = call_names[call_id]
            else:
                name = str(message.get("name") or "")
            response = _tool_result(message.get("content"))
            add("user", [{"functionResponse": {"name": name, "response": response}}])
        else:
            raise _refuse(f"Unknown message role `{role}`.", f"{param}.role", "invalid_role")
    return system, contents


def _declarations(tools: Sequence[Any]) -> list[JSON]:
    declarations: list[JSON] = []
    for i, tool in enumerate(tools):
        if tool.get("type") != "function":
            raise _refuse("Gemini models take only `function` tools.", f"tools[{i}].type")
        function = tool.get("function") or {}
        declaration: JSON = {"name": function.get("name")}
        if function.get("description"):
            declaration["description"] = function["description"]
        if function.get("parameters"):
            declaration["parametersJsonSchema"] = _clean_schema(function["parameters"])
        declarations.append(declaration)
    return declarations


def _tool_config(choice: Any, declarations: list[JSON]) -> tuple[JSON | None, list[JSON]]:
    """(`functionCallingConfig`, the declarations to send) for an OpenAI `tool_choice`."""
    if choice is None or choice == "auto":
        return None, declarations
    if choice == "none":
        return {"mode": "NONE"}, declarations
    if choice == "required":
        return {"mode": "ANY"}, declarations
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        return {"mode": "ANY", "allowedFunctionNames": [name]}, declarations
    if isinstance(choice, Mapping) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        names = {
            (t.get("function") or {}).get("name") or t.get("name")
            for t in allowed.get("tools") or []
        }
        kept = [d for d in declarations if d["name"] in names]
        mode = "ANY" if allowed.get("mode") == "required" else "AUTO"
        return {"mode": mode}, kept
    raise _refuse("This `tool_choice` is not supported by Gemini models.", "tool_choice")


def _generation_config(body: Mapping[str, Any]) -> JSON:
    config: JSON = {}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    for ours, theirs in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if body.get(ours) is not None:
            config[theirs] = body[ours]
    if body.get("n") not in (None, 1):
        config["candidateCount"] = body["n"]
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        config["responseMimeType"] = "application/json"
    elif response_format.get("type") == "json_schema":
        config["responseMimeType"] = "application/json"
        schema = (response_format.get("json_schema") or {}).get("schema")
        if schema:
            config["responseJsonSchema"] = _clean_schema(schema)
    effort = body.get("reasoning_effort")
    if effort is not None:
        budget = THINKING_BUDGETS.get(effort)
        if budget is None:
            raise _refuse(f"Unknown `reasoning_effort` `{effort}`.", "reasoning_effort")
        config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": budget > 0}
    return config


def to_upstream(body: Mapping[str, Any], model: ModelEntry | None = None) -> JSON:
    """The `GenerateContentRequest` for an OpenAI chat request body (`model` is in the URL)."""
    if body.get("functions") or body.get("function_call"):
        raise _refuse("Use `tools` instead of the legacy `functions`.", "functions")
    if "audio" in (body.get("modalities") or []):
        raise _refuse("Gemini chat models do not produce audio here.", "modalities")
    signed = model is not None and signatures.requires_signatures(model.upstream_id)
    system, contents = _contents(body.get("messages") or [], signed)
    request: JSON = {"contents": contents}
    if system:
        request["systemInstruction"] = {"parts": system}
    declarations = _declarations(body.get("tools") or [])
    config, declarations = _tool_config(body.get("tool_choice"), declarations)
    if declarations:
        request["tools"] = [{"functionDeclarations": declarations}]
        if config:
            request["toolConfig"] = {"functionCallingConfig": config}
    generation = _generation_config(body)
    if generation:
        request["generationConfig"] = generation
    return request


# --------------------------------------------------------------------------------------------
# Response: GenerateContentResponse -> chat.completion / chat.completion.chunk
# --------------------------------------------------------------------------------------------

_CONTENT_FILTER = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)


def finish_reason(value: str | None, called_tools: bool) -> str | None:
    """OpenAI's finish reason for a Gemini `finishReason` (None: not finished yet)."""
    if not value:
        return None
    if value == "MAX_TOKENS":
        return "length"
    if value in _CONTENT_FILTER:
        return "content_filter"
    return "tool_calls" if called_tools else "stop"


def usage(metadata: Mapping[str, Any] | None) -> JSON | None:
    """OpenAI `usage` from `usageMetadata` (absent counts are 0)."""
    if not metadata:
        return None
    prompt = int(metadata.get("promptTokenCount") or 0) + int(
        metadata.get("toolUsePromptTokenCount") or 0
    )
    thoughts = int(metadata.get("thoughtsTokenCount") or 0)
    completion = int(metadata.get("candidatesTokenCount") or 0) + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": int(metadata.get("cachedContentTokenCount") or 0)
        },
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def _tool_call(part: Mapping[str, Any], index: int | None = None) -> JSON:
    """An OpenAI tool call for a `functionCall` part, carrying its thought signature where
    Google's OpenAI-compatible API does, so that it comes back with the conversation."""
    call = part["functionCall"]
    tool_call: JSON = {
        "id": str(call.get("id") or new_call_id()),
        "type": "function",
        "function": {
            "name": str(call.get("name") or ""),
            "arguments": json.dumps(call.get("args") or {}, ensure_ascii=False),
        },
    }
    extra = signatures.carried(part)
    if extra is not None:
        tool_call["extra_content"] = extra
    if index is not None:
        tool_call = {"index": index, **tool_call}
    return tool_call


@dataclass
class _Parts:
    text: list[str] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)
    calls: list[Mapping[str, Any]] = field(default_factory=list)  # the `functionCall` parts


def _split(candidate: Mapping[str, Any]) -> _Parts:
    parts = _Parts()
    for part in (candidate.get("content") or {}).get("parts") or []:
        if part.get("functionCall"):
            parts.calls.append(part)
        elif isinstance(part.get("text"), str):
            (parts.thoughts if part.get("thought") else parts.text).append(part["text"])
    return parts


def _blocked(response: Mapping[str, Any]) -> bool:
    return not response.get("candidates") and bool(
        (response.get("promptFeedback") or {}).get("blockReason")
    )


def to_completion(response: Mapping[str, Any]) -> JSON:
    """A `chat.completion` for a non-streamed `GenerateContentResponse`."""
    choices: list[JSON] = []
    if _blocked(response):
        blocked: JSON = {"role": "assistant", "content": "", "refusal": None}
        choices.append(
            {"index": 0, "message": blocked, "logprobs": None, "finish_reason": "content_filter"}
        )
    for position, candidate in enumerate(response.get("candidates") or []):
        parts = _split(candidate)
        message: JSON = {
            "role": "assistant",
            "content": "".join(parts.text) if parts.text or not parts.calls else None,
            "refusal": None,
        }
        if parts.thoughts:
            message["reasoning_content"] = "".join(parts.thoughts)
        if parts.calls:
            message["tool_calls"] = [_tool_call(c) for c in parts.calls]
        reason = finish_reason(candidate.get("finishReason"), bool(parts.calls))
        choices.append(
            {
                "index": candidate.get("index", position),
                "message": message,
                "logprobs": None,
                "finish_reason": reason or ("tool_calls" if parts.calls else "stop"),
            }
        )
    if not choices:
        raise UpstreamError("The upstream provider sent a response without candidates.")
    return {
        "id": str(response.get("responseId") or ""),
        "object": "chat.completion",
        "created": 0,
        "model": str(response.get("modelVersion") or ""),
        "choices": choices,
        "usage": usage(response.get("usageMetadata")),
    }


@dataclass
class StreamState:
    """What earlier events of one stream produced, per candidate index."""

    started: set[int] = field(default_factory=set)
    calls: dict[int, int] = field(default_factory=dict)  # candidate -> tool calls emitted
    finished: set[int] = field(default_factory=set)
    usage: JSON | None = None


def _chunk(choices: list[JSON]) -> Chunk:
    return {
        "id": "",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "",
        "choices": choices,
    }


def _choice(index: int, delta: JSON, reason: str | None = None) -> JSON:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}


def to_chunks(event: Mapping[str, Any], state: StreamState) -> list[Chunk]:
    """The chunks for one streamed `GenerateContentResponse` (updates `state`)."""
    if event.get("usageMetadata"):
        state.usage = usage(event["usageMetadata"])  # running totals: the last one wins
    chunks: list[Chunk] = []
    if _blocked(event) and 0 not in state.finished:
        state.finished.add(0)
        delta: JSON = (
            {"content": ""} if 0 in state.started else {"role": "assistant", "content": ""}
        )
        state.started.add(0)
        return [_chunk([_choice(0, delta, "content_filter")])]
    for position, candidate in enumerate(event.get("candidates") or []):
        index = int(candidate.get("index", position))
        parts = _split(candidate)
        delta = {}
        if index not in state.started:
            state.started.add(index)
            delta["role"] = "assistant"
            delta["content"] = ""
        if parts.text:
            delta["content"] = "".join(parts.text)
        if parts.thoughts:
            delta["reasoning_content"] = "".join(parts.thoughts)
        if parts.calls:
            first = state.calls.get(index, 0)
            delta["tool_calls"] = [_tool_call(c, first + k) for k, c in enumerate(parts.calls)]
            state.calls[index] = first + len(parts.calls)
        if delta:
            chunks.append(_chunk([_choice(index, delta)]))
        reason = finish_reason(candidate.get("finishReason"), bool(state.calls.get(index)))
        if reason and index not in state.finished:
            state.finished.add(index)
            chunks.append(_chunk([_choice(index, {}, reason)]))
    return chunks


def final_chunks(state: StreamState) -> list[Chunk]:
    """At the end of the stream: one `choices: []` chunk with the last usage reported."""
    if state.usage is None:
        return []
    return [{**_chunk([]), "usage": state.usage}]


# --------------------------------------------------------------------------------------------
# The provider
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gemini:
    name: str
    base_url: str
    api_key: str | None
    client: HttpClient

    @functools.lru_cache(maxsize=64)  # noqa: B019 - a few models, frozen instance
    def _url(self, upstream_id: str, method: str) -> str:
        url = f"{self.base_url}/{API_VERSION}/models/{upstream_id}:{method}"
        return url + "?alt=sse" if method == "streamGenerateContent" else url

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept}
        if self.api_key:
            headers["x-goog-api-key"] = self.api_key
        return headers

    async def stream_chat(self, body: Mapping[str, Any], model: ModelEntry) -> AsyncIterator[Chunk]:
        request = to_upstream(body, model)
        url = self._url(model.upstream_id, "streamGenerateContent")
        headers = self._headers("text/event-stream")
        state = StreamState()
        try:
            async for event in upstream.stream_events(
                self.client, url, request, headers, read_error
            ):
                payload = upstream.event_object(event)
                failure = error_of(payload, headers)
                if failure is not None:
                    raise failure
                for chunk in to_chunks(payload, state):
                    yield chunk
        except InvalidRequest as exc:
            raise _ours(exc) from exc
        for chunk in final_chunks(state):
            yield chunk

    async def complete_chat(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        request = to_upstream(body, model)
        url = self._url(model.upstream_id, "generateContent")
        try:
            answer = await upstream.post_json(
                self.client, url, request, self._headers("application/json"), read_error
            )
        except InvalidRequest as exc:
            raise _ours(exc) from exc
        if not isinstance(answer, Mapping) or not (
            isinstance(answer.get("candidates"), list) or _blocked(answer)
        ):
            raise UpstreamError("The upstream provider sent a malformed response.")
        return to_completion(answer)

    async def create_embeddings(self, body: Mapping[str, Any], model: ModelEntry) -> dict[str, Any]:
        url = self._url(model.upstream_id, "batchEmbedContents")
        headers = self._headers("application/json")
        try:
            return await gemini_embeddings.create(
                self.client, url, headers, body, model, read_error
            )
        except InvalidRequest as exc:
            raise _ours(exc) from exc

    async def generate_images(self, request: ImageRequest, model: ModelEntry) -> ImageResult:
        url = self._url(model.upstream_id, "predict")
        try:
            return await imagen.generate(
                self.client, url, self._headers("application/json"), request, read_error
            )
        except InvalidRequest as exc:
            raise _ours(exc) from exc

    async def transcribe(
        self, request: TranscriptionRequest, model: ModelEntry
    ) -> TranscriptionResult:
        endpoint = gemini_transcriptions.Endpoint(
            client=self.client,
            base_url=self.base_url,
            generate_url=self._url(model.upstream_id, "generateContent"),
            headers=self._headers("application/json"),
            read_error=read_error,
        )
        try:
            return await gemini_transcriptions.transcribe(endpoint, request)
        except InvalidRequest as exc:
            raise _ours(exc) from exc


def build(row: Row, env: Mapping[str, str], client: HttpClient) -> Gemini:
    return Gemini(
        name=row["name"],
        base_url=rows.base_url(row, env) or "",
        api_key=rows.api_key(row, env),
        client=client,
    )
