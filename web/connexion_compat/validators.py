"""Bridge between our OpenAPI 3.1 document and Connexion 3.3.

Connexion 3.3 knows only the 2.0 and 3.0 meta-schemas (spec-first/connexion#1396), so it refuses
`openapi: 3.1.0`, and it validates bodies with JSON Schema Draft 4, which silently ignores
`const`, numeric `exclusiveMinimum` and `type: [X, "null"]` semantics of 2020-12. This module:

1. (web/connexion_compat/spec_versions.py lets Connexion load a 3.1 document at all;)
2. provides a `validator_map` whose JSON body validators use Draft 2020-12, cached per schema,
   read bodies of any framing (chunked too), and turn Connexion's 500 on undecodable, too
   deep or invalid Unicode bodies into a 400 that names the problem (web/json_body.py;
   `multipart/form-data` bodies: web/multipart.py);
3. checks query, path and header parameters with Draft 2020-12 and its formats too (Draft 4
   has no `format: date`), a bad one being a 400 that names it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from connexion.datastructures import MediaTypeDict
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match
from starlette.types import Message, Receive, Scope

from domain.errors import InvalidRequest
from web import json_body
from web.integer_fields import as_integers, integer_fields

# The JSON body as validated, kept in the ASGI scope so the handler's argument is not parsed
# a second time (web/connexion_compat/handler_calls.py hands it over).
PARSED_BODY = "wmgw.parsed_body"


@dataclass(frozen=True)
class SchemaCheck:
    """jsonschema_rs answers "is it valid?" in microseconds (jsonschema took about 1 ms per
    chat request); jsonschema, only when it is not, finds the error to explain."""

    schema: dict[str, Any]
    fast: jsonschema_rs.Validator
    explain: Draft202012Validator
    integers: frozenset[str]  # the top-level properties holding integers

    def first_error(self, body: Any) -> ValidationError | None:
        if self.fast.is_valid(body):
            return None
        error = best_match(self.explain.iter_errors(body))
        if error is None:  # only the Rust validator objects (a format it checks): say so
            rs_error = next(self.fast.iter_errors(body))
            path = list(rs_error.instance_path)
            error = ValidationError(rs_error.message, path=path, instance=rs_error.instance)
        return _branch(error)


# Connexion hands every request the same resolved schema object of its operation, so the
# object's identity is a cheap cache key; the schema is kept alive in the check.
_checks: dict[int, SchemaCheck] = {}


def check_for(schema: dict[str, Any]) -> SchemaCheck:
    cached = _checks.get(id(schema))
    if cached is None or cached.schema is not schema:
        # Connexion adds the spec's `components` to a response schema it hands over, and for
        # an error schema they hold that very schema again (a cycle the Rust validator cannot
        # compile). The schema is already dereferenced, so they are not needed.
        own = {key: value for key, value in schema.items() if key != "components"}
        cached = _checks[id(schema)] = SchemaCheck(
            schema=schema,
            fast=jsonschema_rs.Draft202012Validator(own, validate_formats=True),
            explain=Draft202012Validator(own, format_checker=Draft202012Validator.FORMAT_CHECKER),
            integers=integer_fields(own),
        )
    return cached


def param_of(error: ValidationError) -> str | None:
    """OpenAI-style `param` for a schema error: `messages[0].role`."""
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [p for p in error.validator_value if p not in error.instance]
        path += missing[:1]
    return json_body.param_name(path)


def _branch(error: ValidationError) -> ValidationError:
    """For a failed `oneOf`/`anyOf`, the error inside the branch the value meant to take: the
    one whose `const` discriminator (a message's `role`, a part's `type`) matched."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        meant = [
            errs for errs in branches.values() if not any(e.validator == "const" for e in errs)
        ]
        if len(meant) != 1:
            break
        error = best_match(meant[0]) or error
    return error


def message_of(error: ValidationError, param: str | None) -> str:
    if error.validator == "required" and param:
        return f"Missing required parameter: '{param}'."
    where = f" at '{param}'" if param else ""
    if error.validator in ("oneOf", "anyOf"):
        return f"Invalid value{where}: it matches none of the accepted shapes."
    reason = error.message if len(error.message) <= 300 else error.message[:300] + "..."
    return f"Invalid value{where}: {reason}"


class JSON2020RequestBodyValidator(JSONRequestBodyValidator):
    """JSON request bodies checked with Draft 2020-12; errors become OpenAI 400s with `param`."""

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        """Connexion's version takes a request without `Content-Length` for one without a
        body, so a chunked body was refused as missing. The body is read whatever its framing
        (BodyLimit bounds it while reading); an empty one is refused by `_validate`."""
        messages: list[Message] = []

        async def stream() -> AsyncGenerator[bytes, None]:
            more_body = True
            while more_body:
                message = await receive()
                messages.append(message)
                more_body = message.get("more_body", False)
                yield message.get("body", b"")

        body = await self._parse(stream(), scope=scope)
        if not (body is None and self._nullable):
            self._validate(body)
        return self._insert_messages(receive, messages=messages), scope

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        body = scope[PARSED_BODY] = json_body.decode(raw, self._encoding)
        return body

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is None and not self._nullable:
            raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
        check = check_for(self._schema)
        error = check.first_error(body)
        if error is not None:
            param = param_of(error)
            raise InvalidRequest(message_of(error, param), param=param, code="invalid_value")
        as_integers(body, check.integers)
        return body


class JSON2020ResponseBodyValidator(JSONResponseBodyValidator):
    @property
    def validator(self) -> Draft202012Validator:  # type: ignore[override]
        return check_for(self._schema).explain

    def _validate(self, body: Any) -> None:
        # An embeddings answer holds up to millions of numbers: jsonschema took seconds where
        # the Rust check takes milliseconds, so jsonschema only explains a failure.
        if check_for(self._schema).fast.is_valid(body):
            return
        super()._validate(body)


class Parameter2020Validator(ParameterValidator):
    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        if value is None or (is_nullable(param) and is_null(value)):
            return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        error = check_for(param.get("schema", param)).first_error(value)
        if error is None:
            return None
        name = param["name"]
        raise InvalidRequest(message_of(error, name), param=name, code="invalid_value")


VALIDATOR_MAP_2020 = {
    **VALIDATOR_MAP,
    "parameter": Parameter2020Validator,
    "body": MediaTypeDict(
        {
            **VALIDATOR_MAP["body"],
            "*/*json": JSON2020RequestBodyValidator,
        }
    ),
    "response": MediaTypeDict(
        {**VALIDATOR_MAP["response"], "*/*json": JSON2020ResponseBodyValidator}
    ),
}
