"""Connexion's validator for `multipart/form-data` bodies, replaced (through its
`validator_map`) by one that parses the body once, bounded, with Starlette's parser: a file
part is refused once it grows past its limit, and the parsed form reaches the handler through
Connexion's context. What the parts must be is web/multipart.py's."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.validators import AbstractRequestBodyValidator
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import Receive, Scope

from domain.errors import InvalidRequest
from web.connexion_compat.validators import check_for, message_of, param_of
from web.multipart import (
    FORM_KEY,
    MAX_FIELDS,
    MAX_FILES,
    Form,
    UploadedFile,
    body_limit,
    file_limits,
    part_name,
    resolve,
    split_parts,
    too_large,
)


class BoundedParser(MultiPartParser):
    """Starlette's parser, refusing a file part once it grows past its limit."""

    def __init__(
        self, headers: Headers, stream: AsyncGenerator[bytes, None], limits: Mapping[str, Any]
    ) -> None:
        super().__init__(headers, stream, max_files=MAX_FILES, max_fields=MAX_FIELDS)
        self.limits = limits
        self._file_bytes = 0

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        self._file_bytes = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_part.file is not None:
            self._file_bytes += end - start
            name = part_name(self._current_part.field_name)
            limit = self.limits.get(name)
            if limit is not None and self._file_bytes > limit:
                raise too_large(name, limit)
        super().on_part_data(data, start, end)


async def _body(receive: Receive) -> AsyncGenerator[bytes, None]:
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise InvalidRequest("The client closed the connection during the upload.")
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


_EMPTY_BODY = {"type": "http.request", "body": b"", "more_body": False}


class MultipartBodyValidator(AbstractRequestBodyValidator):
    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        headers = Headers(scope=scope)
        limits = file_limits(self._schema)
        largest = body_limit(limits)
        declared = headers.get("content-length", "")
        if largest is not None and declared.isdigit() and int(declared) > largest:
            name, limit = next(iter(limits.items()))
            raise too_large(name, limit or 0)
        form = await self.parse(headers, receive, limits)
        context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
        context[FORM_KEY] = form
        return self._insert_messages(receive, messages=[dict(_EMPTY_BODY)]), scope

    async def parse(self, headers: Headers, receive: Receive, limits: Mapping[str, Any]) -> Form:
        if "content-type" not in headers:  # Connexion chose this body type by default
            raise InvalidRequest(
                "Send the request body as multipart/form-data.", code="invalid_multipart"
            )
        try:
            parsed = await BoundedParser(headers, _body(receive), limits).parse()
        except MultiPartException as exc:
            raise InvalidRequest(
                f"The multipart body could not be read: {exc.message}", code="invalid_multipart"
            ) from exc
        items = list(parsed.multi_items())
        try:
            texts, files = split_parts(items, self._schema)
            fields = resolve(texts, self._schema)
            placeholders = {name: "" for name in files}
            error = check_for(self._schema).first_error({**fields, **placeholders})
            if error is not None:
                param = param_of(error)
                raise InvalidRequest(message_of(error, param), param=param, code="invalid_value")
        except BaseException:
            await parsed.close()
            raise
        return Form(fields, texts, {name: UploadedFile(f) for name, f in files.items()})


def with_multipart(validator_map: Mapping[str, Any]) -> dict[str, Any]:
    """`validator_map` with this validator for `multipart/form-data` request bodies."""
    body = MediaTypeDict({**validator_map["body"], "multipart/form-data": MultipartBodyValidator})
    return {**validator_map, "body": body}
