"""Every patch of Connexion's or Starlette's internals, in one place. They were written for
the versions below: `install()` refuses to run on others, naming what differs, and
tests/test_connexion_compat.py fails when a patched or mirrored function of the library
changes, so that each patch is looked at again before a version moves.

- handler_calls: handlers' decorators built once; handlers taking only `body` and
  `token_info` called without Connexion's argument builder;
- request_validation: request validators built once per operation;
- routing: the routers' outcome remembered for parameterless paths;
- spec_versions: OpenAPI 3.1 documents loaded;
- security: our bearer checks plugged into Connexion's scheme;
- validators: JSON Schema 2020-12 validators for bodies and parameters (OpenAPI 3.1), and
  multipart_validation: `multipart/form-data` bodies parsed once and bounded; both plug in
  through Connexion's `validator_map` but override its validators' private methods.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version

from web.connexion_compat.handler_calls import decorate_handlers_once
from web.connexion_compat.request_validation import build_validators_once
from web.connexion_compat.routing import remember_routes
from web.connexion_compat.security import bearer_handler
from web.connexion_compat.spec_versions import allow_openapi_31

# package: the version, or the minor series ("1.10" takes 1.10.x), the patches were written for
WRITTEN_FOR = {"connexion": "3.3.0", "starlette": "1.10"}

__all__ = ["bearer_handler", "check_versions", "install"]


class UnsupportedVersion(RuntimeError):
    pass


def check_versions(installed: Callable[[str], str] = version) -> None:
    wrong = [
        f"{package} {installed(package)} is installed; the gateway's patches of its internals "
        f"(web/connexion_compat/) were written for {wanted}"
        for package, wanted in WRITTEN_FOR.items()
        if not _matches(installed(package), wanted)
    ]
    if wrong:
        raise UnsupportedVersion("; ".join(wrong))


def _matches(installed: str, wanted: str) -> bool:
    return installed == wanted or installed.startswith(wanted + ".")


def install() -> None:
    """Check the versions, then apply every patch (idempotent; before the app's APIs are
    added, which bind some of the patched functions)."""
    check_versions()
    allow_openapi_31()
    decorate_handlers_once()
    build_validators_once()
    remember_routes()
