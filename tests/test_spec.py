"""The OpenAPI document, and the chat completion schemas in it, as a contract.

Requests must accept whatever real clients send (SDK-echoed history with nulls and unknown fields);
responses and stream chunks must have exactly OpenAI's shapes. Schemas are checked with JSON Schema
2020-12, as the gateway validates bodies (`web/connexion_compat/validators.py`).
"""

from __future__ import annotations

import copy
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from openapi_spec_validator import validate

ROOT = Path(__file__).parent.parent
DOC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
REFERENCE = Path(
    os.environ.get("OPENAI_REFERENCE_SPEC", ROOT / "tests/fixtures/openai-openapi-subset.yaml")
)


@cache
def _official_doc() -> dict[str, Any]:
    return yaml.load(REFERENCE.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def _validator(name: str, official: bool = False) -> Draft202012Validator:
    doc = _official_doc() if official else DOC
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(name: str, instance: Any, official: bool = False) -> list[str]:
    return [e.message for e in _validator(name, official).iter_errors(instance)]


def failing_field(name: str, instance: Any) -> str | int | None:
    """The top-level field the most relevant error is about (the missing one for `required`)."""
    error = best_match(_validator(name).iter_errors(instance))
    if error is None:
        return None
    path = list(error.absolute_path)
    if not path and error.validator == "required":
        return next(p for p in error.validator_value if p not in error.instance)
    return path[0] if path else None


def walk(node: Any, path: str = "#"):
    """Yields (json-pointer, dict) for every mapping in the document."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


def referenced_schemas(name: str) -> set[str]:
    """`name` and every component schema it reaches through `$ref`."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for _, node in walk(DOC["components"]["schemas"][current]):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                todo.append(ref.rsplit("/", 1)[1])
    return seen


# --------------------------------------------------------------------------- the document


def test_document_is_a_valid_openapi_3_1_document():
    assert DOC["openapi"].startswith("3.1")
    validate(DOC)


def test_document_never_uses_nullable_which_openapi_3_1_ignores():
    offenders = [path for path, node in walk(DOC) if "nullable" in node]
    assert offenders == []


def test_every_array_schema_says_what_its_items_are():
    """Client generators refuse an array without `items` and drop what holds it."""
    offenders = [
        path
        for path, node in walk(DOC)
        if "array" in (node["type"] if isinstance(node.get("type"), list) else [node.get("type")])
        and "items" not in node
        and "prefixItems" not in node
    ]
    assert offenders == []


def test_request_schemas_never_forbid_unknown_fields():
    for name in referenced_schemas("CreateChatCompletionRequest"):
        for path, node in walk(DOC["components"]["schemas"][name], f"#/{name}"):
            assert node.get("additionalProperties") is not False, path


def test_chat_operation_uses_the_chat_schemas():
    operation = DOC["paths"]["/chat/completions"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    ok = operation["responses"]["200"]["content"]
    assert body["$ref"].endswith("/CreateChatCompletionRequest")
    assert ok["application/json"]["schema"]["$ref"].endswith("/CreateChatCompletionResponse")
    assert ok["text/event-stream"]["schema"]["$ref"].endswith("/ChatCompletionStreamEvent")
    event = DOC["components"]["schemas"]["ChatCompletionStreamEvent"]
    payload = event["properties"]["data"]["anyOf"][1]["contentSchema"]["anyOf"]
    assert payload[0]["$ref"].endswith("/CreateChatCompletionStreamResponse")


def test_usage_operation_is_published_with_its_examples_valid():
    operation = DOC["paths"]["/usage"]["get"]
    assert operation["tags"] == ["Usage"] and "security" not in operation  # the bearer key
    ok = operation["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"].endswith("/UsageReport")
    for example in ok["examples"].values():
        assert errors("UsageReport", example["value"]) == []
    assert errors("UsageReport", {**example["value"], "start_date": "2026-02-30"}) != []


RATE_LIMIT_HEADERS = {
    f"x-ratelimit-{part}-{unit}"
    for part in ("limit", "remaining", "reset")
    for unit in ("requests", "tokens")
}


def test_every_authenticated_operation_documents_the_rate_limit_headers_and_its_429():
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or operation.get("security") == []:
                continue
            assert "429" in operation["responses"], (path, method)
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = DOC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                # 401: refused before the key is known; 409: an Idempotency-Key's answer,
                # given before the key's limits are counted.
                if status not in ("401", "409"):
                    assert set(response["headers"]) >= RATE_LIMIT_HEADERS, (path, method, status)


def post_operations() -> list[tuple[str, dict[str, Any]]]:
    return [(path, item["post"]) for path, item in DOC["paths"].items() if "post" in item]


def test_every_post_takes_an_idempotency_key_and_documents_its_409() -> None:
    for path, operation in post_operations():
        refs = [parameter.get("$ref") for parameter in operation["parameters"]]
        assert "#/components/parameters/IdempotencyKey" in refs, path
        assert operation["responses"]["409"]["$ref"].endswith("/Conflict"), path
        replayed = operation["responses"]["200"]["headers"]["idempotent-replayed"]
        assert replayed["$ref"].endswith("/IdempotentReplayed"), path


def test_the_idempotency_key_parameter_is_the_header_the_gateway_reads() -> None:
    parameter = DOC["components"]["parameters"]["IdempotencyKey"]
    assert (parameter["name"], parameter["in"], parameter["required"]) == (
        "Idempotency-Key",
        "header",
        False,
    )
    assert (parameter["schema"]["minLength"], parameter["schema"]["maxLength"]) == (1, 255)
    conflict = DOC["components"]["responses"]["Conflict"]["headers"]["x-should-retry"]
    assert conflict["schema"]["enum"] == ["false"]


# --------------------------------------------------------------------------- requests

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}

SDK_HISTORY = [
    {"role": "system", "content": "You are a helpful assistant."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Where was this taken, and what is the weather there?"},
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"},
            },
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "annotations": [],
        "audio": None,
        "function_call": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'},
]

MINIMAL = {"model": "openai/gpt-5-mini", "messages": [{"role": "user", "content": "Hi"}]}

GOOD_REQUESTS = {
    "minimal": MINIMAL,
    "sdk history with tools and a named tool choice": {
        "model": "openai/gpt-5-mini",
        "messages": SDK_HISTORY,
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
    },
    "json_schema response format": {
        **MINIMAL,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "city",
                "description": "A city and its country.",
                "schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
                    "required": ["city", "country"],
                    "additionalProperties": False,
                },
                "strict": True,
            },
        },
    },
    "streaming with options, limits and metadata": {
        **MINIMAL,
        "stream": True,
        "stream_options": {"include_usage": True, "include_obfuscation": False},
        "max_completion_tokens": 1024,
        "stop": ["\n\n", "END"],
        "metadata": {"team": "docs", "ticket": "WM-42"},
        "reasoning_effort": "xhigh",
        "temperature": 0.2,
        "top_p": 0.9,
        "n": 2,
        "seed": 7,
        "logprobs": True,
        "top_logprobs": 5,
        "presence_penalty": -0.5,
        "frequency_penalty": 1.5,
        "logit_bias": {"50256": -100},
        "user": "user-1234",
        "safety_identifier": "9f86d081884c7d65",
        "prompt_cache_key": "docs-bot",
        "service_tier": "auto",
        "store": False,
        "verbosity": "low",
    },
    "every optional parameter null (litellm / AI SDK style)": {
        **MINIMAL,
        "stream": None,
        "stream_options": None,
        "max_tokens": None,
        "max_completion_tokens": None,
        "temperature": None,
        "top_p": None,
        "n": None,
        "stop": None,
        "seed": None,
        "logprobs": None,
        "top_logprobs": None,
        "presence_penalty": None,
        "frequency_penalty": None,
        "logit_bias": None,
        "metadata": None,
        "reasoning_effort": None,
        "service_tier": None,
        "store": None,
        "tools": None,
        "tool_choice": None,
        "parallel_tool_calls": None,
        "response_format": None,
        "modalities": None,
        "audio": None,
        "prediction": None,
        "verbosity": None,
        "prompt_cache_key": None,
        "safety_identifier": None,
        "user": None,
    },
    "stop as a string and legacy max_tokens": {**MINIMAL, "stop": "END", "max_tokens": 256},
    "unknown fields at every level": {
        "model": "openai/gpt-5-mini",
        "messages": [
            {"role": "user", "content": "Hi", "cache_control": {"type": "ephemeral"}},
            {"role": "assistant", "content": "Hello", "reasoning_content": "greet back"},
            {"role": "user", "content": "Bye"},
        ],
        "provider": {"order": ["openai"]},
        "extra_body": {"x": 1},
    },
    "every message role and content part": {
        "model": "openai/gpt-4o-audio-preview",
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Be terse."}]},
            {"role": "system", "content": [{"type": "text", "text": "Answer in French."}]},
            {
                "role": "user",
                "name": "ann",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                    {
                        "type": "file",
                        "file": {
                            "filename": "a.pdf",
                            "file_data": "data:application/pdf;base64,JV",
                        },
                    },
                    {"type": "file", "file": {"file_id": "file-abc"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "refusal", "refusal": "I can't help with that."}],
                "refusal": "I can't help with that.",
                "audio": {"id": "audio_1"},
            },
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "f", "arguments": "{}"},
            },
            {"role": "function", "name": "f", "content": None},
            {"role": "tool", "tool_call_id": "call_9", "content": [{"type": "text", "text": "ok"}]},
        ],
        "modalities": ["text", "audio"],
        "audio": {"voice": "alloy", "format": "mp3"},
        "functions": [{"name": "f", "parameters": {"type": "object", "properties": {}}}],
        "function_call": "auto",
    },
    "custom tools, required tool choice, prediction, web search": {
        **MINIMAL,
        "tools": [
            WEATHER_TOOL,
            {"type": "custom", "custom": {"name": "shell", "format": {"type": "text"}}},
        ],
        "tool_choice": "required",
        "prediction": {"type": "content", "content": "def f():\n    return 1\n"},
        "web_search_options": {
            "search_context_size": "low",
            "user_location": {"type": "approximate", "approximate": {"country": "FR"}},
        },
        "response_format": {"type": "json_object"},
    },
}


@pytest.mark.parametrize("body", GOOD_REQUESTS.values(), ids=GOOD_REQUESTS.keys())
def test_realistic_requests_are_accepted(body):
    assert errors("CreateChatCompletionRequest", body) == []


def _without(key: str) -> dict[str, Any]:
    body = copy.deepcopy(MINIMAL)
    del body[key]
    return body


def _message(**message: Any) -> dict[str, Any]:
    return {**MINIMAL, "messages": [message]}


# name: (body, the top-level field the rejection is about)
BAD_REQUESTS = {
    "missing model": (_without("model"), "model"),
    "missing messages": (_without("messages"), "messages"),
    "empty messages": ({**MINIMAL, "messages": []}, "messages"),
    "empty model": ({**MINIMAL, "model": ""}, "model"),
    "numeric model": ({**MINIMAL, "model": 4}, "model"),
    "unknown role": (_message(role="robot", content="beep"), "messages"),
    "message without role": (_message(content="Hi"), "messages"),
    "message that is a string": ({**MINIMAL, "messages": ["Hi"]}, "messages"),
    "user message without content": (_message(role="user"), "messages"),
    "tool message without tool_call_id": (_message(role="tool", content="42"), "messages"),
    "image part without url": (
        _message(role="user", content=[{"type": "image_url", "image_url": {}}]),
        "messages",
    ),
    "unknown content part": (_message(role="user", content=[{"type": "video"}]), "messages"),
    "temperature 3": ({**MINIMAL, "temperature": 3}, "temperature"),
    "top_p above 1": ({**MINIMAL, "top_p": 1.5}, "top_p"),
    "n 0": ({**MINIMAL, "n": 0}, "n"),
    "stop list of 5": ({**MINIMAL, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    "top_logprobs 21": ({**MINIMAL, "top_logprobs": 21}, "top_logprobs"),
    "presence_penalty -3": ({**MINIMAL, "presence_penalty": -3}, "presence_penalty"),
    "tool_choice sometimes": ({**MINIMAL, "tool_choice": "sometimes"}, "tool_choice"),
    "tool without function name": (
        {**MINIMAL, "tools": [{"type": "function", "function": {}}]},
        "tools",
    ),
    "response_format xml": ({**MINIMAL, "response_format": {"type": "xml"}}, "response_format"),
    "json_schema without name": (
        {**MINIMAL, "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
        "response_format",
    ),
    "stream as a string": ({**MINIMAL, "stream": "yes"}, "stream"),
    "max_completion_tokens as a string": (
        {**MINIMAL, "max_completion_tokens": "100"},
        "max_completion_tokens",
    ),
    "reasoning_effort extreme": ({**MINIMAL, "reasoning_effort": "extreme"}, "reasoning_effort"),
    "metadata with 17 keys": (
        {**MINIMAL, "metadata": {f"k{i}": "v" for i in range(17)}},
        "metadata",
    ),
    "metadata with a number value": ({**MINIMAL, "metadata": {"k": 1}}, "metadata"),
    "stream_options as a boolean": ({**MINIMAL, "stream_options": True}, "stream_options"),
}


@pytest.mark.parametrize(("body", "field"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_requests_are_rejected_for_the_right_field(body, field):
    assert errors("CreateChatCompletionRequest", body) != []
    assert failing_field("CreateChatCompletionRequest", body) == field


# --------------------------------------------------------------------------- responses

COMPLETION_WITH_TOOL_CALLS = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "openai/gpt-5-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "annotations": [],
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 82,
        "completion_tokens": 17,
        "total_tokens": 99,
        "prompt_tokens_details": {"cached_tokens": 64, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
}

TEXT_COMPLETION = {
    "id": "chatcmpl-2",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "writingmate/echo",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


@pytest.mark.parametrize(
    "body", [COMPLETION_WITH_TOOL_CALLS, TEXT_COMPLETION], ids=["tool calls", "text"]
)
def test_realistic_completions_are_accepted(body):
    assert errors("CreateChatCompletionResponse", body) == []


def _completion(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(TEXT_COMPLETION)
    body.update(changes)
    return body


def _completion_choice(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(TEXT_COMPLETION)
    body["choices"][0].update(changes)
    return body


BAD_COMPLETIONS = {
    "without usage": {k: v for k, v in TEXT_COMPLETION.items() if k != "usage"},
    "chunk object": _completion(object="chat.completion.chunk"),
    "finish_reason error": _completion_choice(finish_reason="error"),
    "finish_reason null": _completion_choice(finish_reason=None),
    "system_fingerprint null (OpenAI's is a string)": _completion(system_fingerprint=None),
    "without logprobs": {
        **TEXT_COMPLETION,
        "choices": [{k: v for k, v in TEXT_COMPLETION["choices"][0].items() if k != "logprobs"}],
    },
    "message without refusal": _completion_choice(message={"role": "assistant", "content": "Hi"}),
    "message from the user": _completion_choice(
        message={"role": "user", "content": "Hi", "refusal": None}
    ),
    "tool call with numeric id": _completion_choice(
        message={
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {"id": 1, "type": "function", "function": {"name": "f", "arguments": ""}}
            ],
        }
    ),
    "usage without total_tokens": _completion(usage={"prompt_tokens": 1, "completion_tokens": 1}),
}


@pytest.mark.parametrize("body", BAD_COMPLETIONS.values(), ids=BAD_COMPLETIONS.keys())
def test_completions_not_shaped_like_openai_are_rejected(body):
    assert errors("CreateChatCompletionResponse", body) != []


def test_sdk_parsed_completion_echoed_back_as_history_is_accepted():
    from openai.types.chat import ChatCompletion

    message = ChatCompletion.model_validate(COMPLETION_WITH_TOOL_CALLS).choices[0].message
    for echoed in (
        message.model_dump(mode="json"),  # every field, unset ones as null
        message.model_dump(mode="json", exclude_unset=True),  # what the SDK itself sends
    ):
        history = [*SDK_HISTORY[:2], echoed, SDK_HISTORY[3]]
        body = {"model": "openai/gpt-5-mini", "messages": history}
        assert errors("CreateChatCompletionRequest", body) == []


def _chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "openai/gpt-5-mini",
        "choices": choices,
        "usage": usage,
    }


def _delta(delta: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
    return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]


def _tool_delta(**call: Any) -> list[dict[str, Any]]:
    return _delta({"tool_calls": [call]})


USAGE = {
    "prompt_tokens": 5,
    "completion_tokens": 2,
    "total_tokens": 7,
    "prompt_tokens_details": {"cached_tokens": 0},
}

GOOD_CHUNKS = {
    "first chunk with role": _chunk(_delta({"role": "assistant", "content": ""})),
    "content fragment": _chunk(_delta({"content": "Hel"})),
    "reasoning fragment (extension)": _chunk(_delta({"reasoning_content": "Thinking"})),
    "first tool-call delta": _chunk(
        _tool_delta(
            index=0, id="call_1", type="function", function={"name": "get_weather", "arguments": ""}
        )
    ),
    "later tool-call fragment": _chunk(_tool_delta(index=0, function={"arguments": '{"city"'})),
    "second parallel tool call": _chunk(
        _tool_delta(index=1, id="call_2", type="function", function={"name": "f", "arguments": ""})
    ),
    "finish chunk": _chunk(_delta({}, "tool_calls")),
    "usage chunk with empty choices": _chunk([], USAGE),
    "chunk without usage or logprobs": {
        k: v
        for k, v in _chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]).items()
        if k != "usage"
    },
}


@pytest.mark.parametrize("chunk", GOOD_CHUNKS.values(), ids=GOOD_CHUNKS.keys())
def test_realistic_stream_chunks_are_accepted(chunk):
    assert errors("CreateChatCompletionStreamResponse", chunk) == []


BAD_CHUNKS = {
    "finish_reason error": _chunk(_delta({}, "error")),
    "finish_reason empty string": _chunk(_delta({}, "")),
    "tool-call delta without index": _chunk(
        _delta({"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f"}}]})
    ),
    "tool-call delta with numeric id": _chunk(_tool_delta(index=0, id=1)),
    "choice without finish_reason": _chunk([{"index": 0, "delta": {"content": "x"}}]),
    "completion object": {**_chunk(_delta({"content": "x"})), "object": "chat.completion"},
    "usage without total_tokens": _chunk([], {"prompt_tokens": 5, "completion_tokens": 2}),
    "without id": {k: v for k, v in _chunk(_delta({})).items() if k != "id"},
}


@pytest.mark.parametrize("chunk", BAD_CHUNKS.values(), ids=BAD_CHUNKS.keys())
def test_stream_chunks_not_shaped_like_openai_are_rejected(chunk):
    assert errors("CreateChatCompletionStreamResponse", chunk) != []


# --------------------------------------------------------------------------- official parity

# Payloads built by hand from the official schemas (they avoid values that the official file
# only allows through the `nullable` keyword, which JSON Schema 2020-12 ignores).
OFFICIAL_PAYLOADS = [
    (
        "CreateChatCompletionRequest",
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "developer", "content": "Be terse.", "name": "ops"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://example.com/cat.png", "detail": "low"},
                        },
                    ],
                },
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "Let me look."}],
                    "tool_calls": [
                        {"id": "ct_1", "type": "custom", "custom": {"name": "shell", "input": "ls"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "ct_1", "content": "cat.png"},
            ],
            "tools": [
                {
                    "type": "custom",
                    "custom": {
                        "name": "shell",
                        "description": "Runs a command.",
                        "format": {
                            "type": "grammar",
                            "grammar": {"definition": "start: /.+/", "syntax": "lark"},
                        },
                    },
                }
            ],
            "tool_choice": {
                "type": "allowed_tools",
                "allowed_tools": {"mode": "auto", "tools": [{"type": "custom", "name": "shell"}]},
            },
            "max_completion_tokens": 300,
            "reasoning_effort": "minimal",
            "verbosity": "medium",
            "service_tier": "flex",
            "store": True,
            "metadata": {"purpose": "eval"},
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
    (
        "CreateChatCompletionRequest",
        {
            "model": "gpt-4o-audio-preview",
            "messages": [{"role": "user", "content": "Say hi"}],
            "modalities": ["text", "audio"],
            "audio": {"voice": {"id": "voice_123"}, "format": "pcm16"},
            "prediction": {"type": "content", "content": [{"type": "text", "text": "hi"}]},
            "web_search_options": {
                "user_location": {
                    "type": "approximate",
                    "approximate": {"city": "Lyon", "country": "FR", "timezone": "Europe/Paris"},
                },
                "search_context_size": "high",
            },
            "tool_choice": {"type": "custom", "custom": {"name": "shell"}},
            "functions": [{"name": "f", "description": "legacy"}],
            "function_call": {"name": "f"},
            "stop": "\n",
        },
    ),
    (
        "CreateChatCompletionResponse",
        {
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            "object": "chat.completion",
            "created": 1741570283,
            "model": "gpt-4o-2024-08-06",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "Paris is the capital of France.",
                        "refusal": None,
                        "annotations": [
                            {
                                "type": "url_citation",
                                "url_citation": {
                                    "start_index": 0,
                                    "end_index": 5,
                                    "url": "https://en.wikipedia.org/wiki/Paris",
                                    "title": "Paris",
                                },
                            }
                        ],
                    },
                    "logprobs": {
                        "content": [
                            {
                                "token": "Paris",
                                "logprob": -0.01,
                                "bytes": [80, 97, 114, 105, 115],
                                "top_logprobs": [
                                    {"token": "Paris", "logprob": -0.01, "bytes": None}
                                ],
                            }
                        ],
                        "refusal": None,
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 1117,
                "completion_tokens": 46,
                "total_tokens": 1163,
                "prompt_tokens_details": {
                    "cached_tokens": 0,
                    "audio_tokens": 0,
                    "text_tokens": 1117,
                    "image_tokens": 0,
                },
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fc9f1d7035",
        },
    ),
    (
        "CreateChatCompletionStreamResponse",
        {
            "id": "chatcmpl-123",
            "object": "chat.completion.chunk",
            "created": 1694268190,
            "model": "gpt-4o-mini",
            "system_fingerprint": "fp_44709d6fcb",
            "service_tier": "default",
            "obfuscation": "x7Q",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": "{}"},
                            }
                        ]
                    },
                    "finish_reason": "tool_calls",
                }
            ],
        },
    ),
    (
        "CreateChatCompletionStreamResponse",
        {
            "id": "chatcmpl-123",
            "object": "chat.completion.chunk",
            "created": 1694268190,
            "model": "gpt-4o-mini",
            "choices": [],
            "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
        },
    ),
]


@pytest.mark.parametrize(
    ("name", "payload"),
    OFFICIAL_PAYLOADS,
    ids=[f"{name}-{i}" for i, (name, _) in enumerate(OFFICIAL_PAYLOADS)],
)
def test_payloads_the_official_schemas_accept_are_accepted_by_ours(name, payload):
    if REFERENCE.exists():  # the sample must really be valid for OpenAI's own schema
        assert errors(name, payload, official=True) == []
    assert errors(name, payload) == []


METERING_HEADERS = {
    "x-writingmate-messages-counted",
    "x-writingmate-messages-remaining",
    "x-writingmate-messages-reset",
    "x-writingmate-pool-remaining",
    "x-writingmate-max-tokens",
    "x-writingmate-byok",
}
METERED = {
    "/chat/completions",
    "/completions",
    "/responses",
    "/embeddings",
    "/images/generations",
    "/audio/transcriptions",
    "/videos",
}


def test_every_metered_answer_documents_the_metering_headers() -> None:
    for path in METERED:
        headers = DOC["paths"][path]["post"]["responses"]["200"]["headers"]
        assert set(headers) >= METERING_HEADERS, path
    reset = DOC["components"]["headers"]["MessagesReset"]["schema"]
    assert reset == {"type": "string", "format": "date-time"}
