"""An OpenAI chat request as a Gemini `GenerateContentRequest` (`v1beta`): pure functions on
plain data, `to_upstream(body, model)` first among them.

The answers are translated back in providers/gemini/answers.py, and the calls are made by
providers/gemini/client.py. What is mapped, approximated or refused is listed in
docs/providers/gemini.md.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any

from domain.catalog import ModelEntry
from domain.errors import InvalidRequest
from providers.gemini import signatures
from providers.gemini.tools import clean_schema, declarations, tool_config

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
        part_type = part.get("type") if isinstance(part, Mapping) else None
        if part_type == "text":
            parts.append({"text": str(part.get("text") or "")})
        elif part_type == "refusal":
            parts.append({"text": str(part.get("refusal") or "")})
        elif part_type == "image_url":
            parts.append(_image_part(part, where))
        elif part_type == "input_audio":
            audio = part.get("input_audio") or {}
            mime = f"audio/{audio.get('format') or 'wav'}"
            parts.append({"inlineData": {"mimeType": mime, "data": audio.get("data") or ""}})
        elif part_type == "file" and str((part.get("file") or {}).get("file_data", "")).startswith(
            "data:"
        ):
            parts.append(_data_url(part["file"]["file_data"], f"{where}.file.file_data"))
        else:
            raise _refuse(
                f"Content parts of type `{part_type}` are not supported by Gemini models.", where
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
