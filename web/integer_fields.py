"""Where the spec has integers, and the floats found there made ints.

JSON Schema counts `2.0` and `1e3` as integers, and so does the spec (Schemathesis holds the
gateway to it); so is an integer past 64 bits, which orjson reads as a float. The code that
counts or indexes with them needs ints, so a body the schema accepted has them made ints.
The spec's integers are top-level fields, the items of their arrays (and of those arrays'
arrays: token ids) and the values of their maps (`logit_bias`), so only those are looked at:
this is on every request's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Keywords under which a schema holds the schemas of its parts.
_PARTS = ("items", "additionalProperties", "anyOf", "oneOf", "allOf")


def integer_fields(schema: Mapping[str, Any]) -> frozenset[str]:
    """The top-level properties of an object schema that hold an integer anywhere."""
    properties = schema.get("properties") or {}
    return frozenset(name for name, part in properties.items() if _holds_integer(part))


def _holds_integer(schema: Any) -> bool:
    stack, seen = [schema], set()
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping) or id(node) in seen:
            continue
        seen.add(id(node))
        kinds = node.get("type")
        if kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds):
            return True
        for keyword in _PARTS:
            part = node.get(keyword)
            stack.extend(part if isinstance(part, list) else [part])
        stack.extend((node.get("properties") or {}).values())
    return False


def as_integers(body: Any, fields: frozenset[str]) -> None:
    """Make ints, in place, of the floats in `fields` of a body the schema accepted (there,
    a float can only be an integer written as one)."""
    if isinstance(body, dict):
        for name in fields.intersection(body):
            body[name] = _whole(body[name], levels=2)


def _whole(value: Any, levels: int) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if levels and isinstance(value, list) and _may_hold_floats(value):
        value[:] = [_whole(item, levels - 1) for item in value]
    elif levels and isinstance(value, dict):
        for key, item in value.items():
            value[key] = _whole(item, levels - 1)  # a value replaced: iterating stays safe
    return value


def _may_hold_floats(items: list[Any]) -> bool:
    try:
        # A float among numbers makes their sum a float: found at C speed, as a list of
        # token ids can be long.
        return isinstance(sum(items), float)
    except OverflowError:  # an integer past a float's range, beside a float
        return True
    except TypeError:  # not all numbers: strings, objects, or arrays of token ids
        return bool(items) and isinstance(items[0], list)
