"""Connexion's bearer scheme with our own check. Connexion 3.3 resolves a scheme's check
function from the spec's `x-bearerInfoFunc` (we pass ours in instead), and its generic
bearer check inspects that function's signature on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.security import BearerSecurityHandler

Check = Callable[[str, ConnexionRequest], Awaitable[dict[str, Any]]]


def bearer_handler(check: Check) -> type[BearerSecurityHandler]:
    """A security handler class (for `security_map`) whose bearer tokens go to `check`."""

    class Bearer(BearerSecurityHandler):
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            return check

        def check_bearer_token(self, token_info_func: Callable[..., Any]) -> Callable[..., Any]:
            async def verify(request: ConnexionRequest, token: str) -> dict[str, Any]:
                return await check(token, request)

            return verify

    return Bearer
