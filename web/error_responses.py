"""Every failure, ours or Connexion's, rendered as OpenAI's error envelope. Mapped once here."""

from __future__ import annotations

import json

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.routing import RoutingMiddleware
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

from domain.errors import (
    GatewayError,
    InternalError,
    InvalidApiKey,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    UnsupportedMediaType,
)
from gateway.auth import INVALID_KEY
from gateway.failures import unexpected, upstream_failed
from web.exchanges import EXCHANGE
from web.middleware import REQUEST_ID

_BY_STATUS: dict[int, type[GatewayError]] = {
    400: InvalidRequest,
    401: InvalidApiKey,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def answer(request: ConnexionRequest, error: GatewayError) -> ConnexionResponse:
    """`error` rendered, and kept for the request's log line and metrics."""
    exchange = request.scope.get(EXCHANGE)
    if exchange is not None:
        exchange.error = error
    return render(error)


def render(error: GatewayError) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=error.status,
        mimetype="application/json",
        content_type="application/json",
        body=json.dumps(error.body()).encode(),
        headers=error.headers,
    )


def translate(status: int, detail: str | None) -> GatewayError:
    """Connexion's and Starlette's HTTP errors as ours."""
    if status == 401:
        return InvalidApiKey(
            "You didn't provide an API key. Send it as `Authorization: Bearer <key>`."
            if not detail or "No authorization" in detail or "missing" in detail.lower()
            else INVALID_KEY
        )
    if status == 404:
        return NotFound(f"Unknown request URL. {detail or ''}".strip(), code="unknown_url")
    if status == 405:
        return MethodNotAllowed("Method not allowed for this URL.")
    if status == 415:  # Connexion's detail names the types the operation takes
        return UnsupportedMediaType(
            f"Unsupported content type: {detail}"
            if detail
            else "Unsupported content type; send `Content-Type: application/json`."
        )
    error_class = _BY_STATUS.get(status, InternalError)
    return error_class(detail or "The request could not be processed.")


async def on_gateway_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, GatewayError)
    return answer(request, upstream_failed(_request_id(request), exc))


def _request_id(request: ConnexionRequest) -> str:
    return str(request.scope.get(REQUEST_ID, ""))


async def on_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ProblemException)
    if exc.status >= 500:  # Connexion's own failure (an answer that breaks the spec): ours
        return answer(request, unexpected(_request_id(request), exc))
    error = translate(exc.status, exc.detail)
    error.headers = dict(exc.headers or {})
    if exc.status == 405 and exc.headers:
        error.headers = {"Allow": exc.headers.get("Allow", "")}
    return answer(request, error)


async def on_http_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code >= 500:
        return answer(request, unexpected(_request_id(request), exc))
    error = translate(exc.status_code, exc.detail)
    error.headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := allowed_methods(request.scope)):
        error.headers["Allow"] = allowed
    return answer(request, error)


def allowed_methods(scope: Scope) -> str | None:
    """Every method of the path. Connexion adds one route per operation, and Starlette's 405
    names the methods of the first route matching the path only (GET but not DELETE)."""
    stack = getattr(scope.get("app"), "middleware_stack", None) or []
    routing = next((m for m in stack if isinstance(m, RoutingMiddleware)), None)
    if routing is None:
        return None
    probe: Scope = {"type": "http", "path": scope["path"], "root_path": "", "method": ""}
    methods = _methods(routing.router.routes, probe)
    return ", ".join(sorted(methods)) or None


def _methods(routes: list[BaseRoute], scope: Scope) -> set[str]:
    methods: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            methods |= _methods(route.routes, {**scope, **child})
        elif isinstance(route, Route):
            methods |= route.methods or set()
    return methods


async def on_unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Any other exception of a handler (a database failure under a GET, a bug): a 500 whose
    message names the request id, logged with it. Metered requests settle their own failures
    (web/answers.py), so this never charges anything."""
    return answer(request, unexpected(_request_id(request), exc))


def install(app: AsyncApp) -> None:
    app.add_error_handler(GatewayError, on_gateway_error)
    app.add_error_handler(ProblemException, on_problem)
    app.add_error_handler(HTTPException, on_http_exception)
    app.add_error_handler(Exception, on_unexpected)
