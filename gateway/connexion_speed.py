"""Connexion 3.3 (pinned) rebuilds each operation's handler decorators on every request: a new
StarletteDecorator, then `decorate()` with `inspect.signature` of the handler, about 0.5 ms of
CPU per request in the benchmark's profile. The result depends only on the operation, so this
builds it once per operation and reuses it. Per-request state (the request, the operation in
Connexion's context) is still read at call time, by the same decorator code.

It also hands the handler the JSON body the request validator already parsed (spec31.py),
instead of Connexion parsing the same bytes again.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.apps.asynchronous import AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator

from gateway.spec31 import PARSED_BODY


class _DecorateOnce(StarletteDecorator):
    def __call__(self, function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
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


def _fn(operation: AsyncOperation) -> Callable[..., Any]:
    built = operation.__dict__.get("_wmgw_fn")
    if built is None:
        decorator = _DecorateOnce(
            pythonic_params=operation.pythonic_params, jsonifier=operation.jsonifier
        )
        built = operation.__dict__["_wmgw_fn"] = decorator(operation._fn)
    return built


def decorate_handlers_once() -> None:
    """Idempotent."""
    AsyncOperation.fn = property(_fn)  # type: ignore[method-assign,assignment]
