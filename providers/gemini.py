"""Google Gemini API (`v1beta` `generateContent` / `streamGenerateContent?alt=sse`).

The translators are pure functions on plain data (docs/providers/gemini.md):

- `to_upstream(body, model)`: an OpenAI chat request -> a `GenerateContentRequest`;
- in providers/gemini_answers.py, `to_completion(response)`: a `GenerateContentResponse` -> a
  `chat.completion`;
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
from dataclasses import dataclass
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import InvalidRequest, UpstreamError
from domain.images import ImageRequest
from providers import gemini_embeddings, gemini_transcriptions, imagen, rows, upstream
from providers import gemini_signatures as signatures
from providers.base import Chunk, ImageResult
from providers.gemini_answers import StreamState as StreamState
from providers.gemini_answers import final_chunks as final_chunks
from providers.gemini_answers import finish_reason as finish_reason
from providers.gemini_answers import is_blocked
from providers.gemini_answers import to_chunks as to_chunks
from providers.gemini_answers import to_completion as to_completion
from providers.gemini_answers import usage as usage
from providers.gemini_errors import error_of, read_error
from providers.gemini_errors import ours as _ours
from providers.gemini_tools import clean_schema, declarations, tool_config
from providers.http_client import HttpClient
from providers.rows import Row
from providers.transcripts import TranscriptionRequest, TranscriptionResult

API_VERSION = "v1beta"
JSON = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Request: OpenAI chat body -> GenerateContentRequest
# --------------------------------------------------------------------------------------------


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
            config["responseJsonSchema"] = clean_schema(schema)
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
    offered = declarations(body.get("tools") or [])
    config, offered = tool_config(body.get("tool_choice"), offered)
    if offered:
        request["tools"] = [{"functionDeclarations": offered}]
        if config:
            request["toolConfig"] = {"functionCallingConfig": config}
    generation = _generation_config(body)
    if generation:
        request["generationConfig"] = generation
    return request


# --------------------------------------------------------------------------------------------
# The provider (the answers' translation is in providers/gemini_answers.py)
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
            isinstance(answer.get("candidates"), list) or is_blocked(answer)
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
