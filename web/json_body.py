"""A JSON request body as the gateway accepts it: UTF-8, nested at most MAX_DEPTH levels, and
with no lone surrogate (`"\\ud800"`) in any string. Anything else is a 400 `invalid_json`
(or `invalid_unicode`, naming the field), before the request is admitted.

orjson parses almost every body. What it refuses goes to the stdlib, which accepts a little
more (NaN, integers past 64 bits, lone surrogates) and answers with clearer messages; a body
too deep for either parser is refused instead of recursing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from domain.errors import InvalidRequest

# Deeper than any real request (a tool's JSON Schema nests a few dozen levels at most), and
# shallow enough that every encoder the gateway uses on the way out still handles it.
MAX_DEPTH = 512
_SURROGATE = re.compile("[\ud800-\udfff]")


def param_name(path: list[str | int]) -> str | None:
    """OpenAI-style `param` for a path into the body: `messages[0].content`."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


def decode(raw: bytes, encoding: str | None) -> Any:
    """The body's value (None when it is empty), or an InvalidRequest saying what is wrong."""
    value = _fast(raw) if encoding in (None, "utf-8", "utf8") else _NOT_PARSED
    if value is _NOT_PARSED:
        value = _slow(raw, encoding or "utf-8")
        _refuse_lone_surrogates(value)
    if _too_deep(raw, value):
        raise _nested_too_deep()
    return value


_NOT_PARSED = object()


def _fast(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_PARSED  # empty, not JSON, too deep, or what only the stdlib accepts


def _slow(raw: bytes, encoding: str) -> Any:
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InvalidRequest("The request body is not valid UTF-8.", code="invalid_json") from exc
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"We could not parse the JSON body of your request: {exc.msg} at {exc.pos}.",
            code="invalid_json",
        ) from exc
    except RecursionError as exc:
        raise _nested_too_deep() from exc


def _nested_too_deep() -> InvalidRequest:
    return InvalidRequest(
        f"The JSON body is nested more than {MAX_DEPTH} levels deep.", code="invalid_json"
    )


def _too_deep(raw: bytes, value: Any) -> bool:
    # A body with fewer brackets than the limit cannot nest past it: nearly every request
    # stops at this count, done at memory speed.
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False
    try:
        orjson.dumps(value)  # orjson refuses to write past 254 levels, so this passes shallow
        return False  # bodies at C speed, however large
    except orjson.JSONEncodeError:
        return depth(value) > MAX_DEPTH


def depth(value: Any) -> int:
    """How many arrays and objects nest at the deepest point of `value` (without recursing)."""
    if not isinstance(value, (dict, list)):
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _refuse_lone_surrogates(value: Any) -> None:
    path = surrogate_path(value)
    if path is not None:
        param = param_name(path)
        where = f" in '{param}'" if param else ""
        raise InvalidRequest(
            f"Invalid Unicode{where}: a lone surrogate (such as \\ud800) is not a character; "
            "send text as valid UTF-16 pairs or UTF-8.",
            param=param,
            code="invalid_unicode",
        )


def surrogate_path(value: Any) -> list[str | int] | None:
    """The path to the first string (or object key) holding a lone surrogate, if any."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            if _SURROGATE.search(current):
                return path
        elif isinstance(current, dict):
            for key in current:
                if _SURROGATE.search(key):
                    return [*path, key]
            stack.extend((child, [*path, key]) for key, child in reversed(current.items()))
        elif isinstance(current, list):
            stack.extend((current[i], [*path, i]) for i in reversed(range(len(current))))
    return None
