"""Connexion 3.3 rebuilds each operation's handler decorators on every request (a new
StarletteDecorator, `inspect.signature` of the handler: about 0.5 ms of CPU under the
profiler), and passes every handler's arguments through its general builder (path, query,
form and file parameters, their names made pythonic, the body looked up by content type),
although most of our handlers take only the validated JSON body and the caller.

Here the decorators are built once per operation. Handlers that take nothing but `body` and
`token_info` are called with the body the request validator already parsed (validators.py) and
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

from web.connexion_compat.validators import PARSED_BODY

LEAN_ARGUMENTS = frozenset({"body", "token_info"})


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


def decorate_handlers_once() -> None:
    """Idempotent."""
    AsyncOperation.fn = property(_fn)  # type: ignore[method-assign,assignment]
