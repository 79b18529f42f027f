"""Connexion 3.3 (pinned) rebuilds, on every request, objects that depend only on the
operation. Measured in the benchmark's profile, per request: the handler's decorators (a new
StarletteDecorator, `inspect.signature` of the handler) about 0.5 ms of CPU under the
profiler; the request validator's URI parser, parameter validator and body validator (with
seven walks of the operation's request body definition); and, for every handler, Connexion's
general argument builder (path, query, form and file parameters, their names made pythonic,
the body looked up by content type), although most of our handlers take only the validated
JSON body and the caller.

Here each is built once per operation and reused. Per-request state (the request, the scope,
the caller) is still read at call time. Handlers that take nothing but `body` and
`token_info` are called with the body the request validator already parsed (spec31.py) and
the caller the security check left in the scope; any other handler goes through Connexion's
own argument builder, fed the same parsed body.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.apps.asynchronous import AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import inspect_function_arguments
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.utils import is_nullable
from starlette.types import Receive, Scope, Send

from gateway.spec31 import PARSED_BODY

LEAN_ARGUMENTS = frozenset({"body", "token_info"})
BODY_VALIDATORS_KEPT = 16  # per operation, by (media type, encoding) as clients send them
CONNEXION_VALIDATE = RequestValidationOperation.__call__  # the original, for the tests


class _DecorateOnce(StarletteDecorator):
    def __call__(self, function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        arguments, has_kwargs = inspect_function_arguments(function)
        if not has_kwargs and set(arguments) <= LEAN_ARGUMENTS:
            return self._lean(function, arguments)
        decorated: Callable[..., Awaitable[Any]] | None = None

        @functools.wraps(function)
        async def wrapper(*_args: Any, **_kwargs: Any) -> Any:
            nonlocal decorated
            request = self.framework.get_request(
                uri_parser=self.uri_parser, scope=scope, receive=receive
            )
            if PARSED_BODY in scope:
                # Starlette's Request.json() returns `_json` when set instead of parsing.
                request._starlette_request._json = scope[PARSED_BODY]  # noqa: SLF001
            if decorated is None:
                decorated = self.decorate(function)
            return await decorated(request)

        return wrapper

    def _lean(
        self, function: Callable[..., Any], arguments: list[str]
    ) -> Callable[..., Awaitable[Any]]:
        if not inspect.iscoroutinefunction(function):
            function = self._sync_async_decorator(function)  # run in Starlette's thread pool
        respond = self._response_decorator_cls(framework=self.framework, jsonifier=self.jsonifier)
        answer = respond(function)
        wants_body, wants_caller = "body" in arguments, "token_info" in arguments

        @functools.wraps(function)
        async def lean(*_args: Any, **_kwargs: Any) -> Any:
            kwargs: dict[str, Any] = {}
            if wants_body:
                kwargs["body"] = scope.get(PARSED_BODY)
            if wants_caller:
                kwargs["token_info"] = scope["extensions"]["connexion_context"]["token_info"]
            return await answer(**kwargs)

        return lean


def _fn(operation: AsyncOperation) -> Callable[..., Any]:
    built = operation.__dict__.get("_wmgw_fn")
    if built is None:
        decorator = _DecorateOnce(
            pythonic_params=operation.pythonic_params, jsonifier=operation.jsonifier
        )
        built = operation.__dict__["_wmgw_fn"] = decorator(operation._fn)
    return built


# ------------------------------------------------------------------ request validation


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


def decorate_handlers_once() -> None:
    """Idempotent."""
    AsyncOperation.fn = property(_fn)  # type: ignore[method-assign,assignment]
    RequestValidationOperation.__call__ = _validate_then_call  # type: ignore[method-assign]
