"""How many messages a request costs (the published counting rule).

cached_discount = floor(cached_prompt_tokens * 0.5)
effective_input = max(0, prompt_tokens - cached_discount)
counted         = max(1, ceil((effective_input + completion_tokens) / 16000))
"""

from __future__ import annotations

from dataclasses import dataclass

TOKENS_PER_MESSAGE = 16_000


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def counted_messages(prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> int:
    """Messages charged for one request; never less than one."""
    cached_discount = (max(0, cached_tokens) * 5) // 10
    effective_input = max(0, prompt_tokens - cached_discount)
    total = effective_input + max(0, completion_tokens)
    return max(1, -(-total // TOKENS_PER_MESSAGE))


def messages_for(usage: Usage) -> int:
    return counted_messages(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)


def cached_discount(usage: Usage) -> int:
    """The prompt tokens that cached tokens take off the count (half of them, rounded down)."""
    return (max(0, usage.cached_tokens) * 5) // 10
