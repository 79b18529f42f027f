"""Connexion 3.3 (pinned) matches every request's path twice against Starlette routers: once
for its Swagger UI and spec pages (which a request to the API never is), once to find the
operation. Measured in the benchmark's profile, about 18 path computations and 13 regular
expression matches per chat request, a seventh of the gateway's own CPU.

Here the outcome of both is remembered for paths without parameters (a bounded number of
them): the method and path that reached an operation get the same operation again, and those
that fell through the pages' router skip it. Anything else (a path with parameters, a page, a
405 or 404) goes through Connexion's routers every time, as before.
"""

from __future__ import annotations

from typing import Any

from connexion.middleware import swagger_ui
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.routing import RoutingMiddleware, _scope
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.types import Receive, Scope, Send

ROUTES_KEPT = 256  # per middleware: an API's paths, not every path clients try

Key = tuple[str, str, str]


def _key(scope: Scope) -> Key:
    return scope["method"], scope.get("root_path", ""), scope["path"]


async def _route(self: RoutingMiddleware, scope: Scope, receive: Receive, send: Send) -> None:
    """RoutingMiddleware.__call__, remembering which operation a parameterless path reached."""
    if scope["type"] != "http":
        await self.app(scope, receive, send)
        return
    known: dict[Key, tuple[str, str]] = self.__dict__.setdefault("_wmgw_routes", {})
    key = _key(scope)
    original = dict(scope)
    hit = known.get(key)
    if hit is not None:
        # What connexion.middleware.routing.RoutingOperation does once the route is found.
        original.setdefault("path_params", {})
        routing = original.setdefault("extensions", {}).setdefault(ROUTING_CONTEXT, {})
        routing.update({"api_base_path": hit[0], "operation_id": hit[1]})
        await self.app(original, receive, send)
        return
    _scope.set(original)
    try:
        await self.router(scope, receive, send)
    finally:
        routing = original.get("extensions", {}).get(ROUTING_CONTEXT) or {}
        operation_id = routing.get("operation_id")
        if operation_id and not original.get("path_params") and len(known) < ROUTES_KEPT:
            known[key] = (routing["api_base_path"], operation_id)


async def _pages_or_next(
    self: SwaggerUIMiddleware, scope: Scope, receive: Receive, send: Send
) -> None:
    """SwaggerUIMiddleware.__call__, skipping its router for a path it already let through."""
    through: set[Key] = self.__dict__.setdefault("_wmgw_through", set())
    # Not http (the lifespan): on to the app, as Connexion does; the pages' router would
    # answer the lifespan itself and the app's own would never run.
    if scope["type"] != "http" or _key(scope) in through:
        await self.app(scope, receive, send)
        return
    swagger_ui._original_scope.set(dict(scope))  # noqa: SLF001
    await self.router(scope, receive, send)


async def _let_through(
    self: SwaggerUIMiddleware, _scope: Scope, receive: Receive, send: Send
) -> None:
    """SwaggerUIMiddleware.default_fn (no page matched), noting the path."""
    original: dict[str, Any] = swagger_ui._original_scope.get()  # noqa: SLF001
    through: set[Key] = self.__dict__.setdefault("_wmgw_through", set())
    if original["type"] == "http" and len(through) < ROUTES_KEPT:
        through.add(_key(original))
    await self.app(original, receive, send)


CONNEXION_ROUTE = RoutingMiddleware.__call__
CONNEXION_PAGES = SwaggerUIMiddleware.__call__
CONNEXION_LET_THROUGH = SwaggerUIMiddleware.default_fn


def remember_routes() -> None:
    """Idempotent; before the app's APIs are added (they bind `default_fn`)."""
    RoutingMiddleware.__call__ = _route  # type: ignore[method-assign]
    SwaggerUIMiddleware.__call__ = _pages_or_next  # type: ignore[method-assign]
    SwaggerUIMiddleware.default_fn = _let_through  # type: ignore[method-assign]
