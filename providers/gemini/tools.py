"""OpenAI's function tools and `tool_choice` as Gemini's `functionDeclarations` and
`functionCallingConfig`, and JSON Schemas cleaned of what Gemini refuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import InvalidRequest

JSON = dict[str, Any]

# Keys Gemini's JSON-Schema subset refuses or that only describe the document itself.
_SCHEMA_DROP = frozenset({"$schema", "$id", "$comment"})


def _refuse(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="unsupported_parameter")


def clean_schema(schema: Any) -> Any:
    """A JSON Schema without the keys Gemini refuses (recursively)."""
    if isinstance(schema, dict):
        return {k: clean_schema(v) for k, v in schema.items() if k not in _SCHEMA_DROP}
    if isinstance(schema, list):
        return [clean_schema(v) for v in schema]
    return schema


def declarations(tools: Sequence[Any]) -> list[JSON]:
    declarations: list[JSON] = []
    for i, tool in enumerate(tools):
        if tool.get("type") != "function":
            raise _refuse("Gemini models take only `function` tools.", f"tools[{i}].type")
        function = tool.get("function") or {}
        declaration: JSON = {"name": function.get("name")}
        if function.get("description"):
            declaration["description"] = function["description"]
        if function.get("parameters"):
            declaration["parametersJsonSchema"] = clean_schema(function["parameters"])
        declarations.append(declaration)
    return declarations


def tool_config(choice: Any, declarations: list[JSON]) -> tuple[JSON | None, list[JSON]]:
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
