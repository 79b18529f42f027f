"""The account console: sign-in, developer keys, workspaces and usage, one's own provider key
and (for site admins) accounts, served by the gateway under /console. Its pages and JSON
actions are operations of console.yaml, a third Connexion API with its own security scheme
(the session cookie, web/console/sessions.py)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.utils import get_function_from_name
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.services import Services
from gateway.settings import REPO_ROOT
from web.console.security import session_security
from web.console.sessions import Sessions
from web.console.sign_in_limits import SignInLimits

CONSOLE_SPEC = REPO_ROOT / "console.yaml"
CONSOLE_BASE_PATH = "/console"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Console:
    services: Services
    sessions: Sessions
    sign_in_limits: SignInLimits
    templates: Environment


def templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "svg"])
    )


def bind_console(console: Console) -> Callable[[str], Callable[..., Any]]:
    """Resolve an operationId to its handler with the console as its first argument."""

    def resolve(operation_id: str) -> Callable[..., Any]:
        handler = get_function_from_name(operation_id)
        if "console" not in inspect.signature(handler).parameters:
            return handler
        return functools.partial(handler, console)

    return resolve


def mount_console(app: AsyncApp, services: Services) -> None:
    settings = services.settings
    console = Console(
        services=services,
        sessions=Sessions(services.engine, settings.server_secret, settings.public_url),
        sign_in_limits=SignInLimits(services.rate_limits.buckets),
        templates=templates(),
    )
    app.add_api(
        CONSOLE_SPEC,
        base_path=CONSOLE_BASE_PATH,
        resolver=Resolver(function_resolver=bind_console(console)),
        validate_responses=settings.validate_responses,
        security_map={"apiKey": session_security(console.sessions)},
        swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui=False),
    )
