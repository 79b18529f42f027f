"""Which handler serves an operation. The spec's operationIds are OpenAI's (`createChatCompletion`),
so that clients generated from it get OpenAI's method names; the handler is found by a naming
rule: the module named after the operation's first tag, the function after its operationId in
snake case. `createChatCompletion` tagged `Chat` is `handlers.chat.create_chat_completion`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from connexion.exceptions import ResolverError
from connexion.resolver import Resolution, Resolver

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


def handler_name(operation_id: str, tag: str) -> str:
    """`handler_name("createChatCompletion", "Chat")` is `handlers.chat.create_chat_completion`."""
    return f"handlers.{tag.lower()}.{_WORD_START.sub('_', operation_id).lower()}"


def handler_names(spec: Mapping[str, Any]) -> dict[str, str]:
    """Every operation's handler, by operationId."""
    names: dict[str, str] = {}
    for item in (spec.get("paths") or {}).values():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation and operation.get("operationId") and operation.get("tags"):
                names[operation["operationId"]] = handler_name(
                    operation["operationId"], operation["tags"][0]
                )
    return names


class OperationResolver(Resolver):
    """Connexion's resolver, with the handler's dotted name from `handler_names` handed to
    `function_resolver`; the operation keeps its operationId."""

    def __init__(
        self, spec: Mapping[str, Any], function_resolver: Callable[[str], Callable[..., Any]]
    ) -> None:
        super().__init__(function_resolver=function_resolver)
        self.handlers = handler_names(spec)

    def resolve(self, operation: Any) -> Resolution:
        operation_id = operation.operation_id
        name = self.handlers.get(operation_id)
        if name is None:
            where = f"{operation.method.upper()} {operation.path}"
            raise ResolverError(f"{where} needs an operationId and a tag to find its handler")
        return Resolution(self.resolve_function_from_operation_id(name), operation_id)
