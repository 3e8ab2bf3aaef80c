"""Open the stores: the database ones named by a URL (``memory://``, ``sqlite:///PATH`` or
``postgresql://...``), and the shared counters, bus and cooldowns (in memory, or on Redis for replicas)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from opentoken.stores.base import InvalidationBus, KeyStore, Ledger, ReplayStore, SessionStore
from opentoken.stores.catalog import CatalogStore
from opentoken.stores.counters import DEFAULT_PREFIX, Cooldowns, CounterStore
from opentoken.stores.health import Probe, sql_probes
from opentoken.stores.local.bus import LocalBus
from opentoken.stores.local.counters import LocalCounters
from opentoken.stores.local.link import SupervisorLink
from opentoken.stores.memory import MemoryKeyStore, MemoryLedger, MemoryReplayStore, MemorySessionStore
from opentoken.stores.memory.bus import MemoryBus
from opentoken.stores.memory.catalog import MemoryCatalogStore
from opentoken.stores.memory.cooldowns import MemoryCooldowns
from opentoken.stores.memory.counters import MemoryCounters
from opentoken.stores.memory.responses import MemoryResponseStore, MemorySecretStore
from opentoken.stores.responses import ResponseStore, SecretStore
from opentoken.stores.sql import SqlKeyStore, SqlLedger, SqlReplayStore, SqlSessionStore
from opentoken.stores.sql.catalog import SqlCatalogStore
from opentoken.stores.sql.engine import create_engine, parse_database_url
from opentoken.stores.sql.migrate import check_current, upgrade
from opentoken.stores.sql.responses import SqlResponseStore, SqlSecretStore

Backend = Literal["memory", "sqlite", "postgresql"]
MEMORY_URL = "memory://"


async def _nothing() -> None:
    return None


@dataclass(slots=True)
class Stores:
    keys: KeyStore
    ledger: Ledger
    replay: ReplayStore
    catalog: CatalogStore
    responses: ResponseStore = field(default_factory=MemoryResponseStore)
    secrets: SecretStore = field(default_factory=MemorySecretStore)
    sessions: SessionStore = field(default_factory=MemorySessionStore)
    backend: Backend = "memory"
    _close: Callable[[], Awaitable[None]] = field(default=_nothing, repr=False)
    probes: tuple[tuple[str, Probe], ...] = ()  # readiness checks (``GET /readyz``), by name

    async def close(self) -> None:
        await self._close()


def memory_stores() -> Stores:
    return Stores(MemoryKeyStore(), MemoryLedger(), MemoryReplayStore(), MemoryCatalogStore(), backend="memory")


async def open_stores(database_url: str, migrate: bool, *, migrated: bool = False) -> Stores:
    """Open the stores at ``database_url``.

    SQLite is migrated on every open (one process, no setup). PostgreSQL is migrated only when ``migrate``
    is true; otherwise its schema must already be current (``opentoken migrate``), or ``SchemaNotCurrent``
    is raised, so replicas never start against a schema they do not understand. ``migrated``: the caller's
    supervisor has just migrated (``serve --workers N``), so only check, on every backend.
    """
    if database_url.strip() == MEMORY_URL:
        return memory_stores()
    db = parse_database_url(database_url)
    engine = create_engine(db)
    try:
        if not migrated and (migrate or db.dialect == "sqlite"):
            await upgrade(engine, db.schema)
        else:
            await check_current(engine)
    except BaseException:
        await engine.dispose()
        raise
    backend: Backend = "sqlite" if db.dialect == "sqlite" else "postgresql"
    ledger = SqlLedger(engine)

    async def close() -> None:
        await ledger.close()
        await engine.dispose()

    return Stores(
        SqlKeyStore(engine),
        ledger,
        SqlReplayStore(engine),
        SqlCatalogStore(engine),
        responses=SqlResponseStore(engine),
        secrets=SqlSecretStore(engine),
        sessions=SqlSessionStore(engine),
        backend=backend,
        _close=close,
        probes=sql_probes(engine),
    )


async def run_migrations(database_url: str) -> str:
    """Bring the database to the newest schema (``opentoken migrate``); returns the revision reached."""
    if database_url.strip() == MEMORY_URL:
        return "memory"
    db = parse_database_url(database_url)
    engine = create_engine(db)
    try:
        return await upgrade(engine, db.schema)
    finally:
        await engine.dispose()


async def open_counters(
    redis_url: str | None, prefix: str = DEFAULT_PREFIX, *, supervisor: str | None = None
) -> tuple[CounterStore, InvalidationBus]:
    """Without ``redis_url``: counters and key-change bus in this process (one replica only), or, with
    ``supervisor`` (the socket of ``serve --workers N``), in the supervisor, shared by its workers. With
    ``redis_url``: shared counters and a pub/sub bus on Redis, after checking that Redis answers (start-up
    fails fast)."""
    if redis_url is None and supervisor is not None:
        link = await SupervisorLink.connect(supervisor)
        return LocalCounters(link), LocalBus(link)
    if redis_url is None:
        return MemoryCounters(), MemoryBus()
    # Redis is imported only when configured: the client library costs about 17 MB at idle otherwise
    from opentoken.stores.redis.bus import RedisBus
    from opentoken.stores.redis.client import redis_client
    from opentoken.stores.redis.counters import RedisCounters

    client = redis_client(redis_url)
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    return RedisCounters(client, prefix), RedisBus.from_url(redis_url, prefix)


def open_cooldowns(redis_url: str | None, failures: int, seconds: float) -> Cooldowns:
    if redis_url:
        from opentoken.stores.redis.cooldowns import RedisCooldowns

        return RedisCooldowns.from_url(redis_url, failures, seconds)
    return MemoryCooldowns(failures, seconds)
