"""Admin wire models of the catalog: request bodies (validated, errors name the field) and responses.

Prices are USD per million tokens, as decimal strings in responses (strings or JSON numbers in requests);
times are RFC 3339; lifecycle dates are ``YYYY-MM-DD``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType, field

from opentoken.admin.catalog_sync import SyncReport
from opentoken.admin.schema import AwareTime, money_param, usd
from opentoken.catalog.compose import ComposedEntry, PricePoint
from opentoken.catalog.snapshot import Snapshot
from opentoken.core.money import Prices
from opentoken.stores.catalog import SPEC_FIELDS, CapabilitiesSpec, ModelId, ModelSpec

Amount = Decimal  # a JSON string or number, kept exact


class PricesIn(Struct, forbid_unknown_fields=True):
    """USD per million tokens. A cache price left out keeps the value of the price it follows (0 for a
    model's first price)."""

    input: Amount
    output: Amount
    cache_read: Amount | None = None
    cache_write: Amount | None = None

    def prices(self, previous: Prices | None = None, prefix: str = "") -> Prices:
        def cache(value: Amount | None, kept: Decimal, name: str) -> Decimal:
            return kept if value is None else money_param(value, f"{prefix}{name}")

        return Prices(
            input=money_param(self.input, f"{prefix}input"),
            output=money_param(self.output, f"{prefix}output"),
            cache_read=cache(self.cache_read, previous.cache_read if previous else Decimal(0), "cache_read"),
            cache_write=cache(self.cache_write, previous.cache_write if previous else Decimal(0), "cache_write"),
        )


class PriceCreate(PricesIn, forbid_unknown_fields=True):
    """A price from ``effective_from`` on (default: now; never in the past)."""

    effective_from: AwareTime | None = None


class ModelChange(ModelSpec, forbid_unknown_fields=True):
    """``PATCH /admin/v1/models/{id}``: fields given are set, ``reset`` ones go back to the catalog file's."""

    reset: Annotated[list[str], Meta(max_length=len(SPEC_FIELDS))] = field(default_factory=list)


class ModelCreate(ModelSpec, forbid_unknown_fields=True, kw_only=True):
    """``POST /admin/v1/models``: a model the catalog does not have, with its first price (in force now)."""

    id: ModelId
    prices: PricesIn


class SyncApply(Struct, forbid_unknown_fields=True):
    """``POST /admin/v1/catalog/sync``: the reported new models to add (disabled until priced) and the
    reported unlisted models to disable, by public id."""

    add: Annotated[list[str], Meta(max_length=1000)] = []
    disable: Annotated[list[str], Meta(max_length=1000)] = []
    add_all: bool = False  # every reported new model
    disable_all: bool = False  # every reported unlisted model


# ---- responses -------------------------------------------------------------------------------------------


class PricesOut(Struct):
    input: str
    output: str
    cache_read: str
    cache_write: str


class PricePointOut(Struct):
    effective_from: datetime | None  # None: the catalog file's price, in force since the beginning
    prices: PricesOut
    source: str  # packaged | file | database
    in_force: bool
    created_at: datetime | None = None


class LifecycleOut(Struct):
    released: date | None
    deprecated: date | None
    retired: date | None
    successor: str | None


class CatalogModelOut(Struct, omit_defaults=True):
    id: str
    provider: str
    upstream_model: str
    name: str
    description: str
    state: str  # active | deprecated | retired | disabled | unpriced
    enabled: bool
    source: str  # packaged | file | database: where the model comes from
    overridden: list[str]  # the fields set in the database
    context_window: int
    max_output_tokens: int
    default_max_tokens: int
    capabilities: dict[str, bool]
    reasoning: str
    timeouts: dict[str, float]
    aliases: list[str]
    fallbacks: list[str]
    lifecycle: LifecycleOut
    prices: PricesOut | None  # in force now (None: no price yet)
    scheduled: list[PricePointOut]  # prices that take effect later
    created: int
    object: str = "catalog.model"
    price_history: list[PricePointOut] | UnsetType = UNSET  # detail view only


class CatalogModelList(Struct):
    data: list[CatalogModelOut]
    object: str = "list"


class PriceHistoryOut(Struct):
    model: str
    data: list[PricePointOut]
    object: str = "list"


class ListingOut(Struct):
    provider: str
    deployment: str
    listed: int
    error: str | None


class NewModelOut(Struct):
    id: str
    provider: str
    upstream_model: str
    display_name: str
    created: int | None
    context_window: int | None
    max_output_tokens: int | None


class UnlistedOut(Struct):
    id: str
    provider: str
    upstream_model: str


class SyncOut(Struct):
    providers: list[ListingOut]
    new: list[NewModelOut]
    unlisted: list[UnlistedOut]
    added: list[str] = []
    disabled: list[str] = []
    object: str = "catalog.sync"


def prices_out(prices: Prices) -> PricesOut:
    return PricesOut(usd(prices.input), usd(prices.output), usd(prices.cache_read), usd(prices.cache_write))


def _point_out(point: PricePoint, current: PricePoint | None) -> PricePointOut:
    return PricePointOut(
        effective_from=point.effective_from,
        prices=prices_out(point.prices),
        source=point.source,
        in_force=point is current,
        created_at=point.created_at,
    )


def _current_point(entry: ComposedEntry, now: datetime) -> PricePoint | None:
    found = None
    for point in entry.timeline:
        if point.effective_from is None or point.effective_from <= now:
            found = point
    return found


def catalog_model_out(entry: ComposedEntry, snap: Snapshot, history: bool = False) -> CatalogModelOut:
    m, now = entry.model, snap.at
    current = _current_point(entry, now)
    prices = None if current is None else current.prices
    later = [p for p in entry.timeline if p.effective_from is not None and p.effective_from > now]
    out = CatalogModelOut(
        id=m.id,
        provider=m.provider,
        upstream_model=m.upstream_model,
        name=m.name,
        description=m.description,
        state=snap.states[m.id],
        enabled=m.enabled,
        source=entry.source,
        overridden=list(entry.overridden),
        context_window=m.context_window,
        max_output_tokens=m.max_output_tokens,
        default_max_tokens=m.default_max_tokens,
        capabilities={name: getattr(m.capabilities, name) for name in CapabilitiesSpec.__struct_fields__},
        reasoning=m.reasoning.style,
        timeouts=asdict(m.timeouts),
        aliases=list(m.aliases),
        fallbacks=list(m.fallbacks),
        lifecycle=LifecycleOut(
            m.lifecycle.released, m.lifecycle.deprecated, m.lifecycle.retired, m.lifecycle.successor
        ),
        prices=None if prices is None else prices_out(prices),
        scheduled=[_point_out(p, current) for p in later],
        created=m.created,
    )
    if history:
        out.price_history = [_point_out(p, current) for p in entry.timeline]
    return out


def history_out(entry: ComposedEntry, snap: Snapshot) -> PriceHistoryOut:
    current = _current_point(entry, snap.at)
    return PriceHistoryOut(model=entry.model.id, data=[_point_out(p, current) for p in entry.timeline])


def sync_out(report: SyncReport, added: list[str], disabled: list[str]) -> SyncOut:
    return SyncOut(
        providers=[ListingOut(x.provider, x.deployment, len(x.models), x.error) for x in report.listings],
        new=[
            NewModelOut(
                id=n.model_id,
                provider=n.provider,
                upstream_model=n.listed.id,
                display_name=n.listed.display_name,
                created=n.listed.created,
                context_window=n.listed.context_window,
                max_output_tokens=n.listed.max_output_tokens,
            )
            for n in report.new
        ],
        unlisted=[UnlistedOut(u.model_id, u.provider, u.upstream_model) for u in report.unlisted],
        added=added,
        disabled=disabled,
    )
