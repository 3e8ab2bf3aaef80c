"""Readiness probes for ``GET /readyz``: is the database reachable and its schema current, does Redis answer.

A ``Probe`` returns when its dependency is ready and raises ``NotReady`` otherwise. Messages name the
failure by its kind only (an exception class, a revision), never a URL or a credential, since ``/readyz``
is served without authentication.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from opentoken.stores.sql.engine import read_connection
from opentoken.stores.sql.migrate import HEAD_REVISION
from opentoken.stores.sql.schema import VERSION_TABLE

if TYPE_CHECKING:
    from redis.asyncio import Redis

Probe = Callable[[], Awaitable[None]]


class NotReady(Exception):
    """A dependency is not ready; the message says why (and holds no secret)."""


def _unreachable(error: BaseException) -> NotReady:
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    return NotReady(f"unreachable ({type(cause).__name__})")


def sql_probes(engine: AsyncEngine) -> tuple[tuple[str, Probe], ...]:
    """``database`` (a round trip) and ``migrations`` (the stored revision is this release's)."""

    async def database() -> None:
        try:
            async with read_connection(engine) as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as e:
            raise _unreachable(e) from e

    async def migrations() -> None:
        try:
            async with read_connection(engine) as conn:
                stored = (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar_one_or_none()
        except DBAPIError as e:
            raise NotReady("no schema version (run `opentoken migrate`)") from e
        except (SQLAlchemyError, OSError) as e:
            raise _unreachable(e) from e
        if stored != HEAD_REVISION:
            raise NotReady(f"schema at revision {stored or 'none'}, this release needs {HEAD_REVISION}")

    return (("database", database), ("migrations", migrations))


class RedisProbe:
    """``PING`` over a small connection pool of its own (so a busy counter pool cannot delay the probe)."""

    def __init__(self, url: str) -> None:
        from opentoken.stores.redis.client import redis_client  # only when Redis is configured (import cost)

        self._client: Redis = redis_client(url, max_connections=2)

    async def __call__(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self._client.ping()
        except (RedisError, OSError) as e:
            raise NotReady(f"unreachable ({type(e).__name__})") from e

    async def close(self) -> None:
        await self._client.aclose()
