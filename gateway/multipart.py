"""`multipart/form-data` request bodies: parse failures are OpenAI 400s (Connexion let them
escape as 500s), and fields are checked with JSON Schema 2020-12 like JSON bodies."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from connexion.validators import MultiPartFormDataValidator
from starlette.formparsers import MultiPartException
from starlette.types import Scope

from domain.errors import InvalidRequest
from gateway.spec31 import check_for, message_of, param_of


class Multipart2020RequestBodyValidator(MultiPartFormDataValidator):
    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        try:
            return await super()._parse(stream, scope)
        except MultiPartException as exc:
            raise InvalidRequest(
                f"We could not parse the multipart body of your request: {exc.message}",
                code="invalid_multipart",
            ) from exc
        except (ValueError, KeyError) as exc:  # python-multipart's own parse errors
            raise InvalidRequest(
                "We could not parse the multipart body of your request.",
                code="invalid_multipart",
            ) from exc

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be multipart form fields.")
        error = check_for(self._schema).first_error(body)
        if error is not None:
            param = param_of(error)
            raise InvalidRequest(message_of(error, param), param=param, code="invalid_value")
        return body
