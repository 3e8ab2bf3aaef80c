"""Redis clients for the gateway: text replies, and a pool that waits for a free connection under load
(the default pool raises once 100 connections are in use)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

DEFAULT_MAX_CONNECTIONS = 64
POOL_WAIT_SECONDS = 5.0


def redis_client(url: str, *, max_connections: int = DEFAULT_MAX_CONNECTIONS, health_check_interval: int = 0) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        decode_responses=True,
        health_check_interval=health_check_interval,
    )
    return Redis(connection_pool=pool)
