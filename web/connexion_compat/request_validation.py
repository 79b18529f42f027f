"""Connexion 3.3 rebuilds the request validator's URI parser, parameter validator and body
validator on every request (with seven walks of the operation's request body definition).
Here they are built once per operation and reused: the same checks in the same order
(parameters, media type, body). A request that carries none of an operation's parameters,
when all of them are optional headers, has nothing to check there.
"""

from __future__ import annotations

from typing import Any

from connexion.middleware.request_validation import RequestValidationOperation
from connexion.utils import is_nullable
from starlette.types import Receive, Scope, Send

BODY_VALIDATORS_KEPT = 16  # per operation, by (media type, encoding) as clients send them
CONNEXION_VALIDATE = RequestValidationOperation.__call__  # the original, for the tests


def _parameter_validator(operation: RequestValidationOperation) -> Any:
    spec = operation._operation  # noqa: SLF001
    uri_parser = spec._uri_parser_class(spec.parameters, spec.body_definition())  # noqa: SLF001
    return operation._validator_map["parameter"](  # noqa: SLF001
        spec.parameters,
        uri_parser=uri_parser,
        strict_validation=operation.strict_validation,
        security_query_params=operation.security_query_params,
    )


def _body_validator(operation: RequestValidationOperation, mime_type: str, encoding: str) -> Any:
    """Connexion's own choice of body validator for this media type, or None (no schema, or
    no validator registered for it: the body passes unvalidated, as in Connexion)."""
    spec = operation._operation  # noqa: SLF001
    schema = spec.body_schema(mime_type)
    if not schema:
        return None
    try:
        validator_class = operation._validator_map["body"][mime_type]  # noqa: SLF001
    except KeyError:
        return None
    return validator_class(
        schema=schema,
        required=spec.request_body.get("required", False),
        nullable=_nullable(spec.body_definition(mime_type)),
        encoding=encoding,
        strict_validation=operation.strict_validation,
        uri_parser=spec.uri_parser_class(spec.parameters, spec.body_definition()),
    )


def _nullable(definition: Any) -> bool:
    return bool(is_nullable(definition))


def _optional_headers_only(operation: RequestValidationOperation) -> frozenset[bytes] | None:
    """The names of the operation's parameters when all are optional headers: a request
    carrying none of them has nothing to validate. None when any other parameter exists."""
    parameters = operation._operation.parameters  # noqa: SLF001
    if all(p.get("in") == "header" and not p.get("required") for p in parameters):
        return frozenset(p["name"].lower().encode("latin-1") for p in parameters)
    return None


async def _validate_then_call(
    self: RequestValidationOperation, scope: Scope, receive: Receive, send: Send
) -> None:
    """RequestValidationOperation.__call__ with its validators built once: the same checks in
    the same order (parameters, media type, body)."""
    state = self.__dict__
    parameters = state.get("_wmgw_parameters")
    if parameters is None:
        parameters = state["_wmgw_parameters"] = _parameter_validator(self)
        state["_wmgw_optional_headers"] = _optional_headers_only(self)
    optional_headers = state["_wmgw_optional_headers"]
    if optional_headers is None or any(name in optional_headers for name, _ in scope["headers"]):
        parameters.validate(scope)
    mime_type, encoding = self.extract_content_type(scope["headers"])
    bodies: dict[tuple[str, str], Any] = state.setdefault("_wmgw_bodies", {})
    key = (mime_type, encoding)
    if key in bodies:
        validator = bodies[key]
    else:
        self.validate_mime_type(mime_type)  # raises for a media type the operation refuses
        validator = _body_validator(self, mime_type, encoding)
        if len(bodies) < BODY_VALIDATORS_KEPT:
            bodies[key] = validator
    if validator is not None:
        receive, scope = await validator.wrap_receive(receive, scope=scope)
    await self.next_app(scope, receive, send)


def build_validators_once() -> None:
    """Idempotent."""
    RequestValidationOperation.__call__ = _validate_then_call  # type: ignore[method-assign]
