"""Models tag: `GET /models`, `GET /models/{model}`."""

from __future__ import annotations

from typing import Any

from gateway.auth import Caller
from gateway.services import Services


def _caller(token_info: dict[str, Any]) -> Caller:
    return token_info["caller"]


async def list_models(services: Services, token_info: dict[str, Any]) -> dict[str, Any]:
    caller = _caller(token_info)
    models = services.catalog.visible(caller.plan, services.registry.configured)
    return {"object": "list", "data": [m.as_openai() for m in models]}


async def retrieve_model(
    services: Services, model: str, token_info: dict[str, Any]
) -> dict[str, Any]:
    caller = _caller(token_info)
    if model not in services.catalog.models:  # perhaps a local server's new model
        await services.models.look_for(model)
    return services.catalog.visible_model(
        model, caller.plan, services.registry.configured
    ).as_openai()
