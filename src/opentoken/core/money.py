"""Money is Decimal. Prices are USD per million tokens; costs are rounded once, to COST_QUANTUM."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

COST_QUANTUM = Decimal("0.000000001")  # 1e-9 USD (a nano-dollar): exact for every catalog price
MILLION = Decimal(1_000_000)


def quantize(amount: Decimal) -> Decimal:
    """Round once to COST_QUANTUM; zero is returned as plain ``0`` (not ``0E-9``) so it prints as 0."""
    q = amount.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
    return q if q else Decimal(0)


def token_cost(tokens: int, price_per_million: Decimal) -> Decimal:
    """Exact (unrounded) cost of ``tokens`` at ``price_per_million``."""
    return Decimal(tokens) * price_per_million / MILLION
