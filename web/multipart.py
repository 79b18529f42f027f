"""`multipart/form-data` request bodies, parsed once, bounded, and checked against the spec:
the form as handlers receive it, and the pure rules for its parts. The validator that parses
the body (web/connexion_compat/multipart_validation.py) replaces Connexion's own, which keeps
every byte of the body in memory to replay it, parses it a second time for the handler, and
answers a malformed body with 500 (measured on Connexion 3.3). Instead:

- a body too large for the files the schema allows (a binary property's `x-max-bytes`, plus
  FIELDS_ALLOWANCE for the text parts) is refused at once from `Content-Length`, and while
  reading, a file part that grows past its `x-max-bytes`: 413 `request_too_large`, `param`
  naming the file;
- file parts are streamed into spooled temporary files (memory up to 1 MB, then disk, written
  off the event loop by Starlette);
- the text parts are resolved by the schema (`name[]` parts, as the OpenAI SDKs send arrays,
  and repeated parts become a list; numbers and booleans are converted) and validated with
  Draft 2020-12 like JSON bodies, so errors are OpenAI 400s naming the `param`;
- the parsed form reaches the handler through Connexion's context (a handler parameter named
  `form`, as `token_info` arrives), and an empty body is replayed, so nothing parses it again.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile

from domain.errors import InvalidRequest, PayloadTooLarge

FORM_KEY = "form"  # the handler parameter (and Connexion context key) carrying the form
FIELDS_ALLOWANCE = 1024 * 1024
MAX_FILES = 8
MAX_FIELDS = 256
CHUNK_BYTES = 1024 * 1024  # one thread hop per megabyte once the file is on disk
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass
class UploadedFile:
    """One file part, spooled; reads go through Starlette's UploadFile, which moves them off
    the event loop once the file is on disk."""

    upload: UploadFile

    @property
    def filename(self) -> str:
        return self.upload.filename or ""

    @property
    def content_type(self) -> str:
        return self.upload.content_type or "application/octet-stream"

    @property
    def size(self) -> int:
        return self.upload.size or 0

    async def head(self, size: int) -> bytes:
        await self.upload.seek(0)
        return await self.upload.read(size)

    async def read(self) -> bytes:
        await self.upload.seek(0)
        return await self.upload.read()

    async def chunks(self) -> AsyncIterator[bytes]:
        await self.upload.seek(0)
        while chunk := await self.upload.read(CHUNK_BYTES):
            yield chunk


@dataclass
class Form:
    fields: dict[str, Any]  # validated, resolved by the schema
    parts: list[tuple[str, str]] = field(default_factory=list)  # text parts as sent
    files: dict[str, UploadedFile] = field(default_factory=dict)

    async def aclose(self) -> None:
        for file in self.files.values():
            await file.upload.close()


# --------------------------------------------------------------------------------------------
# Pure: the schema's view of the parts
# --------------------------------------------------------------------------------------------


def is_file_schema(schema: Any) -> bool:
    return isinstance(schema, Mapping) and (
        schema.get("format") in ("binary", "base64")
        or schema.get("contentMediaType") == "application/octet-stream"
    )


def types_of(schema: Mapping[str, Any]) -> set[str]:
    schema_type = schema.get("type")
    types = (
        set(schema_type)
        if isinstance(schema_type, list)
        else {schema_type}
        if isinstance(schema_type, str)
        else set()
    )
    for branch in schema.get("anyOf") or schema.get("oneOf") or []:
        if isinstance(branch, Mapping):
            types |= types_of(branch)
    return types


def file_limits(schema: Mapping[str, Any]) -> dict[str, int | None]:
    """Each binary property and its `x-max-bytes` (None: no limit of its own)."""
    return {
        name: prop.get("x-max-bytes")
        for name, prop in (schema.get("properties") or {}).items()
        if is_file_schema(prop)
    }


def body_limit(limits: Mapping[str, int | None]) -> int | None:
    """The largest body that can carry files within their limits, when all have one."""
    if not limits or any(limit is None for limit in limits.values()):
        return None
    return sum(limit or 0 for limit in limits.values()) + FIELDS_ALLOWANCE


def part_name(name: str) -> str:
    return name.removesuffix("[]")


def coerce(value: str, schema: Mapping[str, Any]) -> Any:
    """A text part as the type its schema wants, when it reads as one; else left as text, for
    the schema to refuse with a clear message."""
    types = types_of(schema)
    if "integer" in types and _INTEGER.fullmatch(value):
        return int(value)
    if "number" in types:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    if "null" in types and value == "null":  # how form encoders write a null
        return None
    return value


def resolve(parts: list[tuple[str, str]], schema: Mapping[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    grouped: dict[str, list[str]] = {}
    for name, value in parts:
        grouped.setdefault(part_name(name), []).append(value)
    fields: dict[str, Any] = {}
    for name, values in grouped.items():
        prop = properties.get(name) or {}
        if "array" in types_of(prop):
            fields[name] = [coerce(v, prop.get("items") or {}) for v in values]
        elif len(values) > 1:  # several parts for one value: left as a list, for the schema
            fields[name] = [coerce(v, prop) for v in values]  # to refuse
        else:
            fields[name] = coerce(values[0], prop)
    return fields


def too_large(name: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The uploaded `{name}` is larger than {limit / 1024 / 1024:g} MB ({limit} bytes), "
        "the most this endpoint accepts.",
        param=name,
    )


def split_parts(
    items: list[tuple[str, str | UploadFile]], schema: Mapping[str, Any]
) -> tuple[list[tuple[str, str]], dict[str, UploadFile]]:
    """Text parts and file parts, each where the schema expects it."""
    properties = schema.get("properties") or {}
    texts: list[tuple[str, str]] = []
    files: dict[str, UploadFile] = {}
    for raw_name, value in items:
        name = part_name(raw_name)
        wants_file = is_file_schema(properties.get(name))
        if isinstance(value, UploadFile) != wants_file:
            expected = "a file upload" if wants_file else "a text field, not a file"
            raise InvalidRequest(f"`{name}` must be {expected}.", param=name, code="invalid_value")
        if isinstance(value, UploadFile):
            if name in files:
                raise InvalidRequest(f"Send one `{name}` file.", param=name, code="invalid_value")
            files[name] = value
        else:
            texts.append((raw_name, value))
    return texts, files
