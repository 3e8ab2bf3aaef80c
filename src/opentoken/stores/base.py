"""Store interfaces and the records they hold. Every backend implements these; one test suite runs on all."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol

from opentoken.core.chat import ReplayState
from opentoken.core.errors import InvalidRequest

BudgetPeriod = Literal["none", "daily", "weekly", "monthly"]


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    prefix: str  # the first characters of the secret, safe to show in listings
    key_hash: str  # hex sha256 of the secret; the secret itself is never stored
    created_at: datetime
    owner: str | None = None
    models: tuple[str, ...] = ()  # fnmatch patterns ("google/*"); empty = every model
    budget_usd: Decimal | None = None
    budget_period: BudgetPeriod = "none"
    rpm: int | None = None
    tpm: int | None = None
    max_concurrent: int | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def allows(self, model_id: str) -> bool:
        return not self.models or any(fnmatch.fnmatchcase(model_id, p) for p in self.models)


@dataclass(frozen=True, slots=True)
class KeyChanges:
    """Fields an update may change (None = leave as is; use ``clear`` to null a field)."""

    name: str | None = None
    owner: str | None = None
    models: tuple[str, ...] | None = None
    budget_usd: Decimal | None = None
    budget_period: BudgetPeriod | None = None
    rpm: int | None = None
    tpm: int | None = None
    max_concurrent: int | None = None
    expires_at: datetime | None = None
    metadata: Mapping[str, str] | None = None
    clear: tuple[str, ...] = ()

    def apply(self, key: ApiKey) -> ApiKey:
        """The key with these changes made: set fields first, then ``clear`` (see ``CLEARABLE``)."""
        unknown = [name for name in self.clear if name not in CLEARABLE]
        if unknown:
            raise ValueError(f"cannot clear {', '.join(unknown)}; clearable: {', '.join(CLEARABLE)}")
        updates: dict[str, object] = {
            name: getattr(self, name)
            for name in _CHANGEABLE
            if getattr(self, name) is not None and name not in self.clear
        }
        if "models" in updates:
            updates["models"] = tuple(self.models or ())
        if "metadata" in updates:
            updates["metadata"] = dict(self.metadata or {})
        for name in self.clear:
            reset = CLEARABLE[name]
            updates[name] = dict(reset) if isinstance(reset, Mapping) else reset
        return replace(key, **updates)  # type: ignore[arg-type]


# Fields an update may reset, with the value they reset to.
CLEARABLE: Mapping[str, object] = {
    "owner": None,
    "models": (),
    "budget_usd": None,
    "budget_period": "none",
    "rpm": None,
    "tpm": None,
    "max_concurrent": None,
    "expires_at": None,
    "metadata": {},
}
_CHANGEABLE = ("name", *CLEARABLE)


class DuplicateKey(InvalidRequest):
    """``KeyStore.create`` was given an id or key hash that already exists."""

    code = "duplicate_key"


class KeyStore(Protocol):
    async def create(self, key: ApiKey) -> None: ...
    async def get(self, key_id: str) -> ApiKey | None: ...
    async def get_by_hash(self, key_hash: str) -> ApiKey | None: ...
    async def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]: ...
    async def search(self, query: KeyQuery) -> list[ApiKey]: ...
    async def count(self) -> int: ...
    async def list(self) -> list[ApiKey]: ...
    async def update(self, key_id: str, changes: KeyChanges) -> ApiKey | None: ...
    async def revoke(self, key_id: str, at: datetime) -> ApiKey | None: ...
    async def replace_hash(self, key_id: str, key_hash: str, prefix: str) -> ApiKey | None: ...


def search_text(key: ApiKey) -> str:
    """What the key list's search matches: name, owner, id and prefix, case-folded, in one string."""
    return " ".join((key.name, key.owner or "", key.id, key.prefix)).casefold()


@dataclass(frozen=True, slots=True)
class KeyQuery:
    """A page of keys, newest first: ``text`` is a case-insensitive substring of ``search_text(key)``;
    ``after`` is the (created_at, id) of the last key of the previous page (keyset paging)."""

    text: str = ""
    limit: int = 50
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One ledger row: every request that reached a provider leaves exactly one."""

    request_id: str
    key_id: str
    model: str  # public id
    provider: str
    upstream_model: str
    created_at: datetime
    status: int  # HTTP status the client got (200 for a stream that began, even if it failed later)
    stream: bool
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal = Decimal(0)
    cost_input: Decimal = Decimal(0)
    cost_cache_read: Decimal = Decimal(0)
    cost_cache_write: Decimal = Decimal(0)
    cost_output: Decimal = Decimal(0)
    cost_reasoning: Decimal = Decimal(0)
    error_code: str | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    attempts: int = 1
    ingress: str = "openai_chat"  # the wire API the request came in on
    deployment: str | None = None  # the deployment that answered (None: none did)
    deployments_tried: tuple[str, ...] = ()  # every attempt's deployment, in order
    ignored_params: tuple[str, ...] = ()  # request fields accepted but not forwarded
    adjusted_params: tuple[str, ...] = ()  # request fields changed to fit the model

    @property
    def is_error(self) -> bool:
        return self.error_code is not None or self.status >= 400


@dataclass(frozen=True, slots=True)
class UsageQuery:
    key_id: str | None = None
    model: str | None = None
    provider: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    group_by: tuple[Literal["key", "model", "provider", "day"], ...] = ()


@dataclass(frozen=True, slots=True)
class UsageRow:
    group: Mapping[str, str]
    requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost: Decimal
    errors: int

    @staticmethod
    def total(rows: Sequence[UsageRow]) -> UsageRow:
        """The sum of ``rows``, with no group."""
        return UsageRow(
            group={},
            requests=sum(r.requests for r in rows),
            input_tokens=sum(r.input_tokens for r in rows),
            cache_read_tokens=sum(r.cache_read_tokens for r in rows),
            cache_write_tokens=sum(r.cache_write_tokens for r in rows),
            output_tokens=sum(r.output_tokens for r in rows),
            reasoning_tokens=sum(r.reasoning_tokens for r in rows),
            cost=sum((r.cost for r in rows), Decimal(0)),
            errors=sum(r.errors for r in rows),
        )


RollupGroup = Literal["key", "model", "provider", "day"]


@dataclass(frozen=True, slots=True)
class RollupQuery:
    """Usage read from the per-day rollups (never the ledger rows): UTC days ``since`` <= day < ``until``."""

    key_id: str | None = None
    model: str | None = None
    provider: str | None = None
    since: date | None = None
    until: date | None = None
    group_by: tuple[RollupGroup, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """One page of the request log, newest first, by keyset: ``before`` is the (created_at, request_id) of
    the last row of the previous page. ``errors``: True for rows with an error, False for rows without."""

    key_id: str | None = None
    model: str | None = None
    status: int | None = None
    errors: bool | None = None
    error_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: tuple[datetime, str] | None = None
    limit: int = 50


class Ledger(Protocol):
    async def append_many(self, records: Sequence[UsageRecord]) -> None:
        """Durably write all records in one transaction."""
        ...

    async def spend(self, key_id: str, since: datetime | None) -> Decimal: ...
    async def usage(self, query: UsageQuery) -> list[UsageRow]: ...
    async def recent(self, limit: int = 100, key_id: str | None = None) -> list[UsageRecord]: ...
    async def count(self) -> int: ...

    async def rollup(self, query: RollupQuery) -> list[UsageRow]:
        """Totals per group from the per-day rollups, ordered by group (one total row when ungrouped)."""
        ...

    async def top_keys(self, month: str, limit: int) -> list[UsageRow]:
        """The keys that spent most in the UTC month ``YYYY-MM``, dearest first (group ``{"key": id}``)."""
        ...

    async def page(self, query: RequestQuery) -> list[UsageRecord]: ...
    async def get(self, request_id: str) -> UsageRecord | None: ...


# ---- console sessions: a random id in a signed cookie; only its SHA-256 is stored.

SessionRole = Literal["key", "admin"]


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    id_hash: str
    role: SessionRole
    key_id: str | None  # the signed-in key (role "key")
    csrf: str  # the token every state-changing form of this session carries
    created_at: datetime
    expires_at: datetime


class SessionStore(Protocol):
    async def create(self, session: ConsoleSession) -> None: ...
    async def get(self, id_hash: str, now: datetime) -> ConsoleSession | None:
        """The session, or None when it does not exist or has expired."""
        ...

    async def delete(self, id_hash: str) -> None: ...
    async def delete_for_key(self, key_id: str) -> None: ...
    async def purge(self, now: datetime) -> int:
        """Delete expired sessions; returns how many."""
        ...


class ReplayStore(Protocol):
    """Provider state kept server-side between turns, with a TTL, keyed by the API key that produced it
    (``key_id``) and the tool-call id: a key never reads or replaces another key's state, even with its ids."""

    async def put(self, key_id: str, items: Mapping[str, ReplayState], ttl_seconds: int) -> None: ...
    async def get_many(self, key_id: str, keys: Sequence[str]) -> dict[str, ReplayState]: ...


# ---- key-change notices, so a revoked key or new limits take effect on every replica within one second.
#
# Whoever changes a key (admin API, CLI) calls ``publish(key_id)`` after the change is committed. Every
# process that caches keys calls ``start(callback)`` once; the callback receives the id of each changed key
# and must drop that key from its caches (it runs on the event loop and must not block or raise).
# ``ALL_KEYS`` ("*") means "drop every cached key": a bus sends it after it reconnects, because notices may
# have been lost while it was away.
#
# The bus makes changes visible at once; it is not the only guarantee. Key caches must also expire their
# entries at most ``CACHE_TTL_SECONDS`` (1 s) after loading them, so a lost notice (Redis down, a publish
# that failed) still reaches every replica within one second. The limiter itself caches no key settings:
# it reads rpm, tpm, max_concurrent and budget from the ``ApiKey`` passed to every ``admit``.

ALL_KEYS = "*"
CACHE_TTL_SECONDS = 1.0
# The same bus carries catalog changes: the admin API and the CLI publish ``CATALOG_CHANGED`` after a change
# to the catalog entries or prices is committed, and every replica reloads its catalog (``catalog.live``;
# it also reloads at least every 0.5 s, as key caches expire). Key ids never take this form.
CATALOG_CHANGED = "@catalog"

KeyChanged = Callable[[str], None]


def notice_router(on_key: KeyChanged, on_catalog: Callable[[], None]) -> KeyChanged:
    """One bus callback for both kinds of notice. ``ALL_KEYS`` (sent after a reconnect, when notices may
    have been lost) goes to both."""

    def route(notice: str) -> None:
        if notice == CATALOG_CHANGED:
            on_catalog()
            return
        on_key(notice)
        if notice == ALL_KEYS:
            on_catalog()

    return route


class InvalidationBus(Protocol):
    async def publish(self, key_id: str) -> None:
        """Tell every subscriber (in every process on this bus) that ``key_id`` changed."""
        ...

    async def start(self, callback: KeyChanged) -> None:
        """Deliver each notice to ``callback`` from now on, until ``close``."""
        ...

    async def close(self) -> None: ...
