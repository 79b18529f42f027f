"""Connexion's bearer scheme with our own checks. Connexion 3.3 imports a scheme's check
function from the dotted name in the spec's `x-bearerInfoFunc`; here that name picks one of
the checks the app was built with (the developer keys' when the scheme has none), and Connexion's
generic bearer check, which inspects the function's signature on every request, is skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.security import BearerSecurityHandler

Check = Callable[[str, ConnexionRequest], Awaitable[dict[str, Any]]]


def bearer_handler(check: Check, named: Mapping[str, Check]) -> type[BearerSecurityHandler]:
    """A security handler class (for `security_map`) whose bearer tokens go to `check`, or to
    the check `named` after the scheme's `x-bearerInfoFunc`."""

    class Bearer(BearerSecurityHandler):
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            name = security_scheme.get("x-bearerInfoFunc")
            return check if name is None else named[name]

        def check_bearer_token(self, token_info_func: Callable[..., Any]) -> Callable[..., Any]:
            async def verify(request: ConnexionRequest, token: str) -> dict[str, Any]:
                return await token_info_func(token, request)  # type: ignore[no-any-return]

            return verify

    return Bearer
