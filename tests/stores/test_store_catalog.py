"""CatalogStore behaviour, identical on every backend: entries are replaced atomically, prices are appended
and never rewritten, and only a price that has not taken effect yet may be cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from opentoken.core.errors import InvalidRequest
from opentoken.core.money import Prices
from opentoken.stores.catalog import (
    CapabilitiesSpec,
    CatalogData,
    DuplicatePrice,
    ModelSpec,
    PriceRecord,
    ReasoningOverride,
    TimeoutsSpec,
)
from opentoken.stores.factory import Stores

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHEAP = Prices(Decimal("1"), Decimal("5"), Decimal("0.1"), Decimal("1.25"))
DEAR = Prices(Decimal("3.000000001"), Decimal("15"), Decimal("0.3"), Decimal("3.75"))


def price(model_id: str, at: datetime, prices: Prices = CHEAP) -> PriceRecord:
    return PriceRecord(model_id, at, prices, created_at=T0)


async def test_empty_store_loads_nothing(stores: Stores) -> None:
    assert await stores.catalog.load() == CatalogData()
    assert await stores.catalog.get_entry("anthropic/x") is None
    assert await stores.catalog.prices("anthropic/x") == []


async def test_update_entry_round_trips_every_field(stores: Stores) -> None:
    spec = ModelSpec(
        upstream_model="claude-new-1",
        name="Claude New",
        description=None,
        created=1_700_000_000,
        context_window=200_000,
        max_output_tokens=64_000,
        default_max_tokens=8192,
        capabilities=CapabilitiesSpec(vision=True, pdf=False),
        reasoning=ReasoningOverride(style="budget", budgets={"low": 1024}, min_budget=1024, max_budget=4096),
        timeouts=TimeoutsSpec(total=90.0),
        aliases=["claude-new", "claude-new-20261201"],
        fallbacks=["anthropic/claude-haiku-4-5"],
        enabled=False,
        released=date(2026, 12, 1),
        deprecated=None,
        retired=date(2027, 6, 1),
        successor="anthropic/claude-next",
    )
    seen: list[ModelSpec | None] = []

    def change(current: ModelSpec | None) -> ModelSpec:
        seen.append(current)
        return spec

    entry = await stores.catalog.update_entry("anthropic/claude-new", change, T0)
    assert seen == [None] and entry.spec == spec and entry.updated_at == T0
    got = await stores.catalog.get_entry("anthropic/claude-new")
    assert got is not None and got.spec == spec and got.updated_at == T0
    assert (await stores.catalog.load()).entries == (got,)

    later = T0 + timedelta(minutes=1)
    await stores.catalog.update_entry("anthropic/claude-new", lambda cur: ModelSpec(name="Renamed"), later)
    got = await stores.catalog.get_entry("anthropic/claude-new")
    assert got is not None and got.spec == ModelSpec(name="Renamed") and got.updated_at == later


async def test_a_refused_change_writes_nothing(stores: Stores) -> None:
    await stores.catalog.update_entry("google/g", lambda cur: ModelSpec(enabled=False), T0)

    def refuse(current: ModelSpec | None) -> ModelSpec:
        raise InvalidRequest("no", param="enabled")

    with pytest.raises(InvalidRequest):
        await stores.catalog.update_entry("google/g", refuse, T0 + timedelta(seconds=1))
    got = await stores.catalog.get_entry("google/g")
    assert got is not None and got.spec == ModelSpec(enabled=False) and got.updated_at == T0


async def test_concurrent_updates_of_one_entry_are_serialised(stores: Stores) -> None:
    def add_alias(name: str) -> Callable[[ModelSpec | None], ModelSpec]:
        def change(current: ModelSpec | None) -> ModelSpec:
            aliases = [] if current is None or not isinstance(current.aliases, list) else current.aliases
            return ModelSpec(aliases=[*aliases, name])

        return change

    names = [f"alias-{i}" for i in range(8)]
    await asyncio.gather(*(stores.catalog.update_entry("google/g", add_alias(n), T0) for n in names))
    got = await stores.catalog.get_entry("google/g")
    assert got is not None and isinstance(got.spec.aliases, list) and sorted(got.spec.aliases) == names


async def test_prices_are_appended_in_order_and_exact(stores: Stores) -> None:
    later = T0 + timedelta(days=3)
    await stores.catalog.add_price(price("anthropic/a", later, DEAR))
    await stores.catalog.add_price(price("anthropic/a", T0))
    await stores.catalog.add_price(price("google/b", T0))
    history = await stores.catalog.prices("anthropic/a")
    assert [(p.effective_from, p.prices) for p in history] == [(T0, CHEAP), (later, DEAR)]
    assert history[1].prices.input == Decimal("3.000000001")
    assert [str(p.prices.output) for p in history] == ["5", "15"]  # as stored, not padded to the column's scale
    assert [(p.model_id, p.effective_from) for p in (await stores.catalog.load()).prices] == [
        ("anthropic/a", T0),
        ("anthropic/a", later),
        ("google/b", T0),
    ]


async def test_times_come_back_in_utc(stores: Stores) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 12, 1, 14, 0, 0, 123456, tzinfo=plus_two)
    await stores.catalog.add_price(price("anthropic/a", local))
    (got,) = await stores.catalog.prices("anthropic/a")
    assert got.effective_from == local and got.effective_from.utcoffset() == timedelta(0)
    assert got.effective_from.microsecond == 123456


async def test_a_price_at_the_same_instant_is_refused(stores: Stores) -> None:
    await stores.catalog.add_price(price("anthropic/a", T0))
    with pytest.raises(DuplicatePrice) as err:
        await stores.catalog.add_price(price("anthropic/a", T0, DEAR))
    assert err.value.param == "effective_from"
    assert [p.prices for p in await stores.catalog.prices("anthropic/a")] == [CHEAP]


async def test_only_a_price_not_yet_in_force_can_be_cancelled(stores: Stores) -> None:
    now = T0 + timedelta(hours=1)
    scheduled = now + timedelta(days=1)
    await stores.catalog.add_price(price("anthropic/a", T0))
    await stores.catalog.add_price(price("anthropic/a", scheduled, DEAR))
    assert await stores.catalog.cancel_price("anthropic/a", T0, now) is False  # in force: history stays
    assert await stores.catalog.cancel_price("anthropic/a", now + timedelta(hours=2), now) is False  # no such
    assert await stores.catalog.cancel_price("anthropic/a", scheduled, scheduled) is False  # took effect
    assert await stores.catalog.cancel_price("anthropic/a", scheduled, now) is True
    assert [p.effective_from for p in await stores.catalog.prices("anthropic/a")] == [T0]
