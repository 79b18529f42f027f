"""What the OpenAPI contract tests share: openapi.yaml (and OpenAI's reference file) loaded once,
a payload checked against one of their schemas, walks over the document, and the chat history
an SDK sends, which several of them validate.

Schemas are checked with JSON Schema 2020-12, as the gateway validates bodies
(`web/connexion_compat/validators.py`).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

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


# The history an SDK sends back after a tool call: nulls, and fields the request must accept.
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
