"""Money is Decimal. Prices are USD per million tokens; costs are rounded once, to COST_QUANTUM.

Cost of a call: catalog price x tokens by kind, in Decimal, rounded once. Each part is computed exactly, the
parts are rounded to ``COST_QUANTUM`` (1e-9 USD) with ROUND_HALF_UP, and the total is the sum of the rounded
parts, so ``total == sum(parts)`` always holds. Reasoning tokens are billed at the output price and reported
apart from the visible output tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from opentoken.core.result import Usage

COST_QUANTUM = Decimal("0.000000001")  # 1e-9 USD (a nano-dollar): exact for every catalog price
MILLION = Decimal(1_000_000)


def quantize(amount: Decimal) -> Decimal:
    """Round once to COST_QUANTUM; zero is returned as plain ``0`` (not ``0E-9``) so it prints as 0."""
    q = amount.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
    return q if q else Decimal(0)


def token_cost(tokens: int, price_per_million: Decimal) -> Decimal:
    """Exact (unrounded) cost of ``tokens`` at ``price_per_million``."""
    return Decimal(tokens) * price_per_million / MILLION


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cache_read: Decimal = Decimal(0)
    cache_write: Decimal = Decimal(0)  # a 5-minute cache write (Anthropic's default), or the only kind
    cache_write_1h: Decimal | None = None  # a 1-hour cache write; None: priced as ``cache_write``


@dataclass(frozen=True, slots=True)
class Cost:
    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal  # visible output tokens (output_tokens - reasoning_tokens)
    reasoning: Decimal

    @property
    def total(self) -> Decimal:
        return self.input + self.cache_read + self.cache_write + self.output + self.reasoning

    def as_dict(self) -> dict[str, str]:
        return {
            "input": str(self.input),
            "cache_read": str(self.cache_read),
            "cache_write": str(self.cache_write),
            "output": str(self.output),
            "reasoning": str(self.reasoning),
        }


def cost_of(usage: Usage, prices: Prices) -> Cost:
    reasoning = min(usage.reasoning_tokens, usage.output_tokens)
    return Cost(
        input=quantize(token_cost(usage.input_tokens, prices.input)),
        cache_read=quantize(token_cost(usage.cache_read_tokens, prices.cache_read)),
        cache_write=quantize(_cache_write_cost(usage, prices)),
        output=quantize(token_cost(usage.output_tokens - reasoning, prices.output)),
        reasoning=quantize(token_cost(reasoning, prices.output)),
    )


def _cache_write_cost(usage: Usage, prices: Prices) -> Decimal:
    long = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
    long_price = prices.cache_write if prices.cache_write_1h is None else prices.cache_write_1h
    return token_cost(usage.cache_write_tokens - long, prices.cache_write) + token_cost(long, long_price)


def worst_case_cost(prompt_tokens: int, max_output_tokens: int, prices: Prices) -> Decimal:
    """Upper bound used for budget reservations: every prompt token at the highest input-side price."""
    input_price = max(prices.input, prices.cache_write, prices.cache_write_1h or Decimal(0))
    return quantize(token_cost(prompt_tokens, input_price) + token_cost(max_output_tokens, prices.output))
