"""What the two ways of finding models share: the upstreams asked for their lists, and a log
that tells an operator when a list becomes unavailable and when it is back, once each, rather
than at every attempt."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.errors import GatewayError
from providers.base import ModelLister


@dataclass(frozen=True)
class ListSource:
    name: str  # the provider row's name: the prefix of its models' slugs
    lister: ModelLister
    plans: tuple[str, ...]  # the row's `plans` (every plan by default), given to each model


def why(failure: BaseException) -> str:
    """A failure as a log line may say it: the gateway's errors carry no credential (an
    upstream's words are scrubbed); anything else is named by its class only."""
    if isinstance(failure, GatewayError):
        return failure.message
    if isinstance(failure, TimeoutError):
        return "no answer in time"
    return type(failure).__name__


class ListHealth:
    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.failing: set[str] = set()

    def failed(self, name: str, failure: BaseException, kept: int) -> None:
        if name in self.failing:
            self.log.debug("model list of %s still unavailable: %s", name, why(failure))
            return
        self.failing.add(name)
        keeping = f"keeping the {kept} models it listed before" if kept else "none listed"
        self.log.warning("model list of %s unavailable (%s); %s", name, why(failure), keeping)

    def listed(self, name: str, count: int, changed: bool) -> None:
        if name in self.failing:
            self.failing.discard(name)
            self.log.info("model list of %s is back: %d models", name, count)
        elif changed:
            self.log.info("model list of %s: %d models", name, count)
