"""The published spec's Responses operation: its schemas, which never forbid unknown fields,
and its examples, which are valid requests that translate."""

from __future__ import annotations

import pytest

from tests.spec_helpers import DOC, errors, referenced_schemas, walk
from usecases.responses_translation import chat_request, input_items


def test_responses_request_schemas_never_forbid_unknown_fields() -> None:
    for name in referenced_schemas("CreateResponseRequest"):
        for path, node in walk(DOC["components"]["schemas"][name], f"#/{name}"):
            assert node.get("additionalProperties") is not False, path


def test_responses_operation_uses_the_responses_schemas() -> None:
    operation = DOC["paths"]["/responses"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    ok = operation["responses"]["200"]["content"]
    assert body["$ref"].endswith("/CreateResponseRequest")
    assert ok["application/json"]["schema"]["$ref"].endswith("/Response")
    assert ok["text/event-stream"]["schema"]["$ref"].endswith("/ResponseStreamEvent")


@pytest.mark.parametrize(
    "example",
    list(
        DOC["paths"]["/responses"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    ),
)
def test_spec_examples_are_valid_requests_that_translate(example: str) -> None:
    content = DOC["paths"]["/responses"]["post"]["requestBody"]["content"]["application/json"]
    request = content["examples"][example]["value"]
    assert errors("CreateResponseRequest", request) == []
    assert chat_request(request, input_items(request))["messages"]
