"""Catalog changes shared by the admin API and the ``opentoken catalog`` commands.

Every change is validated against the catalog as it would be after it (names unique, successor and
fallbacks known, limits consistent; an error names the field), committed to the ``CatalogStore``, and then
announced with ``on_change`` (the gateway reloads its own catalog and publishes ``CATALOG_CHANGED`` on the
invalidation bus, so every replica reloads within a second).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from msgspec import UNSET, Struct

from opentoken.admin.catalog_schema import ModelChange, ModelCreate, PriceCreate, SyncApply
from opentoken.admin.catalog_sync import SyncReport, new_model_spec, sync_report
from opentoken.catalog.compose import BaseCatalog, Composed, ComposedEntry, SpecError, compose, compose_entry
from opentoken.catalog.lifecycle import RetiredPolicy
from opentoken.catalog.snapshot import Snapshot, snapshot_at
from opentoken.core.errors import InvalidRequest, NotFound
from opentoken.stores.catalog import SPEC_FIELDS, CatalogStore, ModelSpec, PriceRecord
from opentoken.upstream.models import Listing

Lister = Callable[[], Awaitable[list[Listing]]]
_NESTED = ("capabilities", "timeouts")  # partial structs: a change sets its fields over the stored ones


async def _nothing() -> None:
    return None


def model_missing(model_id: str) -> NotFound:
    return NotFound(f"No model {model_id!r} in the catalog.", param="model", code="model_not_found")


def merged(current: ModelSpec | None, change: ModelChange) -> ModelSpec:
    """The stored spec with ``change`` applied (``reset`` fields removed: back to the catalog file's)."""
    unknown = [name for name in change.reset if name not in SPEC_FIELDS]
    if unknown:
        raise InvalidRequest(f"reset takes ModelSpec fields ({', '.join(SPEC_FIELDS)}); got {unknown}", param="reset")
    values = {name: getattr(current or ModelSpec(), name) for name in SPEC_FIELDS}
    for name in SPEC_FIELDS:
        value = getattr(change, name)
        if value is UNSET:
            continue
        if name in change.reset:
            raise InvalidRequest(f"{name} is both set and reset", param="reset")
        old = values[name]
        if name in _NESTED and isinstance(old, Struct) and isinstance(value, Struct):
            value = type(value)(**{**_given(old), **_given(value)})
        values[name] = value
    for name in change.reset:
        values[name] = UNSET
    return ModelSpec(**values)


def _given(struct: Struct) -> dict[str, object]:
    return {n: v for n in struct.__struct_fields__ if (v := getattr(struct, n)) is not UNSET}


@dataclass(slots=True)
class CatalogAdmin:
    store: CatalogStore
    base: BaseCatalog
    retired: RetiredPolicy
    providers: frozenset[str]
    on_change: Callable[[], Awaitable[None]] = _nothing
    lister: Lister | None = None  # reads the providers' model lists (sync); None: sync is not available
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    async def view(self) -> Snapshot:
        """The catalog as composed from the store right now (what every replica converges to)."""
        return snapshot_at(await self._composed(), self.clock())

    async def _composed(self) -> Composed:
        return compose(self.base, await self.store.load(), self.retired, self.providers)

    async def entry(self, model_id: str) -> tuple[Snapshot, ComposedEntry]:
        snap = await self.view()
        found = snap.composed.entries.get(model_id)
        if found is None:
            owner = snap.composed.names.get(model_id)
            raise (
                model_missing(model_id)
                if owner is None
                else NotFound(
                    f"{model_id!r} is an alias of {owner!r}; use the model id.", param="model", code="model_not_found"
                )
            )
        return snap, found

    async def create(self, spec: ModelCreate) -> ComposedEntry:
        composed = await self._composed()
        if spec.id in composed.names or await self.store.get_entry(spec.id) is not None:
            raise InvalidRequest(
                f"The catalog already has {spec.id!r}: change it with PATCH.", param="id", code="model_exists"
            )
        prices = spec.prices.prices(prefix="prices.")
        fields = {name: getattr(spec, name) for name in SPEC_FIELDS}
        new = ModelSpec(**fields)
        self._validate(spec.id, new, composed)

        def first(current: ModelSpec | None) -> ModelSpec:
            if current is not None:
                raise InvalidRequest(f"The catalog already has {spec.id!r}.", param="id", code="model_exists")
            return new

        now = self.clock()
        await self.store.update_entry(spec.id, first, now)
        await self.store.add_price(PriceRecord(spec.id, now, prices, now))
        await self.on_change()
        return (await self.entry(spec.id))[1]

    async def change(self, model_id: str, change: ModelChange) -> ComposedEntry:
        composed = await self._composed()
        if model_id not in composed.entries and await self.store.get_entry(model_id) is None:
            raise model_missing(model_id)

        def apply(current: ModelSpec | None) -> ModelSpec:
            spec = merged(current, change)
            self._validate(model_id, spec, composed)
            return spec

        await self.store.update_entry(model_id, apply, self.clock())
        await self.on_change()
        return (await self.entry(model_id))[1]

    async def set_enabled(self, model_id: str, enabled: bool) -> ComposedEntry:
        _, entry = await self.entry(model_id)
        if enabled and not entry.timeline:
            raise InvalidRequest(
                f"{model_id} has no price: set one (POST /admin/v1/models/{model_id}/prices) before enabling it.",
                param="model",
                code="model_unpriced",
            )
        return await self.change(model_id, ModelChange(enabled=enabled))

    async def add_price(self, model_id: str, spec: PriceCreate) -> ComposedEntry:
        _, entry = await self.entry(model_id)
        now = self.clock()
        effective = now if spec.effective_from is None else spec.effective_from.astimezone(UTC)
        prices = spec.prices(entry.price_at(effective))
        if effective < now:
            raise InvalidRequest(
                "effective_from is in the past: the price of past requests never changes. Omit it for now, or "
                "give a later time to schedule the change.",
                param="effective_from",
            )
        await self.store.add_price(PriceRecord(model_id, effective, prices, now))
        await self.on_change()
        return (await self.entry(model_id))[1]

    async def cancel_price(self, model_id: str, effective_from: datetime) -> ComposedEntry:
        await self.entry(model_id)
        if not await self.store.cancel_price(model_id, effective_from, self.clock()):
            raise NotFound(
                f"{model_id} has no scheduled price at {effective_from.isoformat()} (a price in force is never removed).",
                param="effective_from",
                code="price_not_found",
            )
        await self.on_change()
        return (await self.entry(model_id))[1]

    async def sync(self, apply: SyncApply | None = None) -> tuple[SyncReport, list[str], list[str]]:
        """The report; with ``apply``, add the named new models (disabled) and disable the named unlisted ones."""
        if self.lister is None:
            raise InvalidRequest("Catalog sync is not available here.", code="sync_unavailable")
        report = sync_report(await self.view(), await self.lister())
        if apply is None:
            return report, [], []
        new = {n.model_id: n for n in report.new}
        unlisted = {u.model_id for u in report.unlisted}
        adding = list(new) if apply.add_all else list(dict.fromkeys(apply.add))
        disabling = list(unlisted) if apply.disable_all else list(dict.fromkeys(apply.disable))
        for i, model_id in enumerate(apply.add):
            if model_id not in new:
                raise InvalidRequest(f"{model_id!r} is not a new model of this sync report.", param=f"add[{i}]")
        for i, model_id in enumerate(apply.disable):
            if model_id not in unlisted:
                raise InvalidRequest(
                    f"{model_id!r} is not an unlisted model of this sync report.", param=f"disable[{i}]"
                )
        today = self.clock().date()
        for model_id in adding:
            spec = new_model_spec(new[model_id].listed, today)
            await self.store.update_entry(model_id, _unless_present(spec), self.clock())
        for model_id in disabling:
            await self.store.update_entry(model_id, _disabled, self.clock())
        if adding or disabling:
            await self.on_change()
        return report, adding, disabling

    def _validate(self, model_id: str, spec: ModelSpec, composed: Composed) -> None:
        """Refuse a spec that would not compose, naming the field (``InvalidRequest``)."""
        try:
            entry = compose_entry(model_id, spec, self.base)
        except SpecError as e:
            raise InvalidRequest(str(e), param=e.field) from e
        model = entry.model
        if model.provider not in self.providers:
            raise InvalidRequest(f"unknown provider {model.provider!r} (one of {sorted(self.providers)})", param="id")
        _check_names(model_id, model.aliases, composed.names, "aliases")
        known = composed.names
        if model.lifecycle.successor and model.lifecycle.successor not in known:
            raise InvalidRequest(f"successor {model.lifecycle.successor!r} is not in the catalog", param="successor")
        for i, fallback in enumerate(model.fallbacks):
            if fallback not in known:
                raise InvalidRequest(f"fallback {fallback!r} is not in the catalog", param=f"fallbacks[{i}]")


def _unless_present(spec: ModelSpec) -> Callable[[ModelSpec | None], ModelSpec]:
    def change(current: ModelSpec | None) -> ModelSpec:
        return spec if current is None else current

    return change


def _disabled(current: ModelSpec | None) -> ModelSpec:
    return merged(current, ModelChange(enabled=False))


def _check_names(model_id: str, aliases: tuple[str, ...], names: Mapping[str, str], param: str) -> None:
    for i, alias in enumerate(aliases):
        owner = names.get(alias)
        if owner is not None and owner != model_id:
            raise InvalidRequest(f"{alias!r} is already a name of {owner}", param=f"{param}[{i}]")
