"""Composition of the catalog: the packaged file, the operator's file, then the database entries and prices."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from opentoken.catalog.compose import CatalogError, compose
from opentoken.catalog.lookup import Catalog
from opentoken.catalog.model import Capabilities, Timeouts
from opentoken.catalog.registry import load_base, load_catalog
from opentoken.core.errors import ModelNotFound
from opentoken.core.money import Prices
from opentoken.stores.catalog import (
    CapabilitiesSpec,
    CatalogData,
    CatalogEntry,
    ModelSpec,
    PriceRecord,
    ReasoningOverride,
    TimeoutsSpec,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HAIKU = "anthropic/claude-haiku-4-5"
FLASH = "google/gemini-3-flash"
PROVIDERS = frozenset({"anthropic", "google"})


def entry(model_id: str, **fields: object) -> CatalogEntry:
    return CatalogEntry(model_id, ModelSpec(**fields), NOW)  # type: ignore[arg-type]


def price(model_id: str, at: datetime, input: str, output: str) -> PriceRecord:
    return PriceRecord(model_id, at, Prices(Decimal(input), Decimal(output)), NOW)


def catalog_of(data: CatalogData, at: datetime = NOW, extra: Path | None = None) -> Catalog:
    return Catalog(compose(load_base(extra), data, "successor", PROVIDERS), clock=lambda: at.timestamp())


def test_packaged_catalog_records_the_retirement_of_sonnet_4_5_and_anthropic_ids() -> None:
    catalog = load_catalog()
    sonnet = catalog.entry("anthropic/claude-sonnet-4-5")
    assert sonnet is not None
    assert (sonnet.lifecycle.retired, sonnet.lifecycle.successor) == (date(2026, 11, 30), "anthropic/claude-sonnet-4-6")
    for native, model_id in [
        ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5"),
        ("claude-haiku-4-5", HAIKU),
        ("claude-haiku-4-5-20251001", HAIKU),
        ("claude-opus-4-5-20251101", "anthropic/claude-opus-4-5"),
        ("claude-opus-4-1-20250805", "anthropic/claude-opus-4-1"),
        ("claude-opus-4-6", "anthropic/claude-opus-4-6"),
        ("claude-sonnet-4-6", "anthropic/claude-sonnet-4-6"),
    ]:
        found = catalog.entry(native)
        assert found is not None and found.id == model_id, native


def test_a_database_entry_changes_only_the_fields_it_sets() -> None:
    spec = {
        "name": "Haiku (ops)",
        "context_window": 100_000,
        "capabilities": CapabilitiesSpec(vision=False),
        "timeouts": TimeoutsSpec(total=30.0),
        "aliases": ["fast"],
        "fallbacks": [FLASH],
        "deprecated": date(2027, 1, 1),
    }
    catalog = catalog_of(CatalogData(entries=(entry(HAIKU, **spec),)))
    packaged = load_catalog().resolve(HAIKU)
    haiku = catalog.resolve("fast")
    assert haiku.id == HAIKU and haiku.name == "Haiku (ops)" and haiku.context_window == 100_000
    assert haiku.capabilities == Capabilities(**{**_caps(packaged.capabilities), "vision": False})
    assert haiku.timeouts == Timeouts(connect=10.0, first_token=120.0, idle=120.0, total=30.0)
    assert (haiku.fallbacks, haiku.lifecycle.deprecated) == ((FLASH,), date(2027, 1, 1))
    assert (haiku.max_output_tokens, haiku.prices, haiku.reasoning) == (
        packaged.max_output_tokens,
        packaged.prices,
        packaged.reasoning,
    )
    composed = catalog.snapshot.composed.entries[HAIKU]
    assert composed.source == "packaged" and set(composed.overridden) == set(spec)


def _caps(c: Capabilities) -> dict[str, bool]:
    return dict(asdict(c))


def test_null_lifecycle_fields_clear_the_packaged_ones() -> None:
    kept = catalog_of(CatalogData(entries=(entry("anthropic/claude-sonnet-4-5", retired=None),)))
    sonnet = kept.resolve("anthropic/claude-sonnet-4-5")
    assert sonnet.id == "anthropic/claude-sonnet-4-5" and sonnet.lifecycle.retired is None
    assert kept.notices("anthropic/claude-sonnet-4-5") == {}  # no end of life recorded any more: no headers
    assert "anthropic/claude-sonnet-4-5" in {m.id for m in kept}


def test_a_new_model_from_the_database_needs_limits_and_a_price() -> None:
    new = entry(
        "anthropic/claude-next",
        context_window=300_000,
        max_output_tokens=32_000,
        reasoning="anthropic_adaptive",
    )
    unpriced = catalog_of(CatalogData(entries=(new,)))
    with pytest.raises(ModelNotFound, match="no price"):
        unpriced.resolve("anthropic/claude-next")
    assert "anthropic/claude-next" not in {m.id for m in unpriced}
    priced = catalog_of(CatalogData((new,), (price("anthropic/claude-next", NOW - timedelta(hours=1), "2", "8"),)))
    model = priced.resolve("anthropic/claude-next")
    assert (model.provider, model.upstream_model, model.default_max_tokens) == ("anthropic", "claude-next", 32_000)
    assert model.reasoning.style == "adaptive" and model.prices == Prices(Decimal(2), Decimal(8))
    assert priced.snapshot.composed.entries["anthropic/claude-next"].source == "database"


def test_database_entries_that_cannot_be_applied_are_left_out_and_reported() -> None:
    data = CatalogData(
        entries=(
            entry("anthropic/no-limits", name="x"),  # a new model without context_window / max_output_tokens
            entry("openai/gpt-x", context_window=10, max_output_tokens=10),  # no such provider
            entry(HAIKU, default_max_tokens=10**6),  # over its max_output_tokens: the packaged entry stays
            entry(FLASH, reasoning="no-such-preset"),
            entry("google/gemini-2.5-pro", aliases=["claude-haiku-4-5"]),  # taken by Haiku
        )
    )
    catalog = catalog_of(data)
    problems = " | ".join(catalog.snapshot.composed.problems)
    for text in ("anthropic/no-limits", "openai", "default_max_tokens", "no-such-preset", "claude-haiku-4-5"):
        assert text in problems
    assert catalog.resolve(HAIKU).default_max_tokens == load_catalog().resolve(HAIKU).default_max_tokens
    assert catalog.resolve("claude-haiku-4-5").id == HAIKU
    assert catalog.get("anthropic/no-limits") is None and catalog.get("openai/gpt-x") is None


def test_an_alias_conflict_in_the_files_fails_at_start(tmp_path: Path) -> None:
    extra = tmp_path / "models.toml"
    extra.write_text(
        '[[model]]\nid = "anthropic/mine"\ncontext_window = 1000\nmax_output_tokens = 100\n'
        'prices = { input = "1", output = "1" }\naliases = ["claude-haiku-4-5"]\n'
    )
    with pytest.raises(CatalogError, match="claude-haiku-4-5"):
        load_catalog(extra)


def test_the_price_in_force_follows_the_history() -> None:
    t1, t2 = NOW + timedelta(hours=1), NOW + timedelta(days=2)
    data = CatalogData(prices=(price(HAIKU, t2, "3", "9"), price(HAIKU, t1, "2", "7")))
    entry_ = compose(load_base(), data, "successor").entries[HAIKU]
    packaged = load_catalog().resolve(HAIKU).prices
    assert entry_.price_at(NOW) == packaged
    assert entry_.price_at(t1) == Prices(Decimal(2), Decimal(7))
    assert entry_.price_at(t2 - timedelta(microseconds=1)) == Prices(Decimal(2), Decimal(7))
    assert entry_.price_at(t2) == Prices(Decimal(3), Decimal(9))
    assert [p.source for p in entry_.timeline] == ["packaged", "database", "database"]


def test_a_scheduled_price_takes_effect_at_its_time_without_a_reload() -> None:
    at = [NOW.timestamp()]
    change = NOW + timedelta(seconds=30)
    composed = compose(load_base(), CatalogData(prices=(price(HAIKU, change, "2", "9"),)), "successor")
    catalog = Catalog(composed, clock=lambda: at[0])
    before = catalog.resolve(HAIKU)
    assert before.prices.input == Decimal(1) and catalog.snapshot.valid_until == change.timestamp()
    at[0] = change.timestamp() - 0.001
    assert catalog.resolve(HAIKU).prices.input == Decimal(1)
    at[0] = change.timestamp()
    after = catalog.resolve(HAIKU)
    assert after.prices == Prices(Decimal(2), Decimal(9)) and before.prices.input == Decimal(1)  # no mutation
    assert [m.prices.input for m in catalog if m.id == HAIKU] == [Decimal(2)]


def test_reasoning_override_replaces_the_whole_spec() -> None:
    spec = ReasoningOverride(style="level", levels={"low": "low", "high": "high"})
    catalog = catalog_of(CatalogData(entries=(entry(FLASH, reasoning=spec),)))
    reasoning = catalog.resolve(FLASH).reasoning
    assert (reasoning.style, reasoning.levels, reasoning.default_on) == ("level", {"low": "low", "high": "high"}, False)
