"""The OpenAPI document as a whole: a valid OpenAPI 3.1 file that client generators accept, whose
chat operation uses the chat schemas, and whose operations document the headers and statuses
the gateway answers with (rate limits, `Idempotency-Key`, metering)."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from tests.spec_helpers import DOC, errors, referenced_schemas, walk


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
