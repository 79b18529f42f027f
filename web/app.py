"""The app factory: `create_app(settings)` builds the Connexion AsyncApp and hangs the
services on it. Importing this module reads no environment and opens no socket."""

from __future__ import annotations

import functools
import gc
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import yaml
from connexion import AsyncApp
from connexion.lifecycle import ConnexionRequest
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.security import BearerSecurityHandler
from connexion.utils import get_function_from_name
from starlette.types import ASGIApp

from domain.charges import SHUTDOWN
from domain.errors import CatalogError, InvalidApiKey
from gateway.services import Services, build_services
from gateway.settings import REPO_ROOT, Settings
from gateway.video_worker import worker_for
from web import body_limits, connexion_compat, error_responses, logs, published_spec, reference_page
from web.connexion_compat.multipart_validation import with_multipart
from web.connexion_compat.validators import VALIDATOR_MAP_2020
from web.console import mount_console
from web.exchanges import EXCHANGE
from web.idempotency import Idempotency
from web.idempotency_heartbeat import Heartbeat
from web.idempotency_runs import IdempotentRuns
from web.middleware import REQUEST_ID, BodyLimit, NamesOperation, RequestId
from web.observer import RequestObserver
from web.operations import OperationResolver
from web.rate_limit_headers import RATE_REPORT
from web.shutdown import Drain, on_stop_signal

WORKSPACE_HEADER = "x-writingmate-workspace"
OPS_SPEC = REPO_ROOT / "ops.yaml"  # probes at the server's root, outside the API
WRONG_METRICS_TOKEN = (
    "/metrics needs the metrics token: send it as `Authorization: Bearer <token>`."
)
# openapi.yaml's `servers` url, given to Connexion: an API without a base path sorts as the
# root's, and the root's (ops.yaml) would then take every request.
API_BASE_PATH = "/api/openai/v1"


def bind_services(services: Services) -> Callable[[str], Callable[..., Any]]:
    """Resolve a handler's dotted name (web/operations.py) to the handler with `services` as
    its first argument (every handler takes it), so handlers receive their dependencies
    explicitly instead of reaching for globals."""

    def resolve(name: str) -> Callable[..., Any]:
        return functools.partial(get_function_from_name(name), services)

    return resolve


def bearer_security(services: Services) -> type[BearerSecurityHandler]:
    """Connexion's bearer scheme, checking keys with our Authenticator, then counting the
    request against the key's requests per minute."""

    async def check(token: str, request: ConnexionRequest) -> dict[str, Any]:
        scope = request.scope
        caller = await services.auth.caller(
            token,
            request.headers.get(WORKSPACE_HEADER),
            scope.get(REQUEST_ID, ""),
            scope.get(RATE_REPORT),
        )
        await services.rate_limits.check_request(caller)
        scope[EXCHANGE].caller = caller  # for the request's log line
        return {"sub": caller.user_id, "caller": caller}

    async def metrics_token(token: str, _request: ConnexionRequest) -> dict[str, Any]:
        expected = services.settings.metrics_token or ""
        # Compared in constant time: the answer's timing tells nothing of the token.
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            raise InvalidApiKey(WRONG_METRICS_TOKEN)
        return {"sub": "metrics"}

    return connexion_compat.bearer_handler(check, {"metrics_token": metrics_token})


def ops_spec(settings: Settings) -> dict[str, Any]:
    """ops.yaml as this server serves it: without a metrics token, /metrics is open."""
    spec: dict[str, Any] = yaml.safe_load(OPS_SPEC.read_text())
    if settings.metrics_token is None:
        spec["paths"]["/metrics"]["get"]["security"] = []
    return spec


def lifespan(services: Services, idempotent: IdempotentRuns) -> Callable[[Any], Any]:
    @asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        await services.models.start()  # stored lists at once; upstreams' in the background
        services.meter.start()
        drain = Drain(partial(services.meter.drain, SHUTDOWN), services.settings.drain_seconds)
        restore_signals = on_stop_signal(drain.begin)
        videos = worker_for(services)
        videos.start()
        heartbeat = Heartbeat(idempotent)
        heartbeat.start()
        # The app is loaded: about 120,000 objects (the resolved spec above all) that live as
        # long as the process. A full garbage collection walked them all, about 30 ms on the
        # event loop every few thousand requests, which was most of the slowest 1% of answers.
        # Frozen, collections walk only what requests allocate.
        gc.freeze()
        try:
            yield
        finally:
            await heartbeat.stop()
            restore_signals()
            drain.cancel()
            await services.meter.drain(SHUTDOWN)  # anything the server left running
            await videos.stop()
            await services.models.stop()
            await services.aclose()

    return run


def create_app(settings: Settings, services: Services | None = None) -> ASGIApp:
    connexion_compat.install()
    # Connexion warns on every request to an operation taking several body types (POST /videos).
    logging.getLogger("connexion.operations.openapi3").setLevel(logging.ERROR)
    services = services or build_services(settings)
    idempotent = IdempotentRuns(services.engine, settings.idempotency)
    app = AsyncApp(
        __name__,
        lifespan=lifespan(services, idempotent),
        validator_map=with_multipart(VALIDATOR_MAP_2020),
        security_map={"bearer": bearer_security(services)},
    )
    spec = published_spec.load(settings.spec_path)
    app.add_api(
        settings.spec_path,
        base_path=API_BASE_PATH,
        resolver=OperationResolver(spec, bind_services(services)),
        validate_responses=settings.validate_responses,
        # published_spec serves the spec with its $refs kept; reference_page the page
        swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui=False),
    )
    app.add_api(
        ops_spec(settings),
        base_path="",
        resolver=Resolver(function_resolver=bind_services(services)),
        validate_responses=settings.validate_responses,
        swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui=False),
    )
    mount_console(app, services)  # the account console under /console (web/console)
    published_spec.publish(app, published_spec.PublishedSpec(spec))
    reference_page.publish(app, API_BASE_PATH)
    error_responses.install(app)
    app.add_middleware(NamesOperation, position=MiddlewarePosition.BEFORE_SECURITY)
    keyed = Idempotency(app, idempotent, settings.server_secret)
    limits = body_limits.from_spec(spec)
    observer = RequestObserver(services.metrics)
    return RequestId(BodyLimit(keyed, settings.max_body_bytes, limits), observer)


def create_app_from_env() -> ASGIApp:
    """Entry point for uvicorn/gunicorn (`--factory`): the settings and the log from the
    environment. A catalog that cannot be served stops the start with its message alone, not
    under a traceback."""
    settings = Settings.from_env()
    logs.configure(settings.logs)
    try:
        return create_app(settings)
    except CatalogError as exc:
        raise SystemExit(f"wmgw: {exc}") from None
