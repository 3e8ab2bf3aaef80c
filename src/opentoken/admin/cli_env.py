"""What the admin commands work on: the database, and the Redis bus that tells running gateways.

The database URL and the Redis URL come from ``obj["database_url"]`` / ``obj["redis_url"]`` on the click
context (tests), else from the settings (``OPENTOKEN_DATABASE_URL``, ``OPENTOKEN_REDIS_URL``). With a Redis
URL, every change a command commits is published on the invalidation bus, so every replica drops the key or
reloads the catalog at once; without one there is a single gateway, which picks the change up within a
second (its key cache expires, its catalog refreshes).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
import msgspec

from opentoken.admin.schema import validation_param
from opentoken.core.errors import GatewayError

if TYPE_CHECKING:
    from opentoken.settings import Settings

Publish = Callable[[str], Awaitable[None]]
T = TypeVar("T")


def _obj() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, dict) else {}


def settings(**overrides: object) -> Settings:
    """The settings (``overrides``: the command line's options), or the command's error (exit status 1) naming
    the variable, file key or option with a bad value."""
    from opentoken.settings import SettingsError, load_settings

    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def database_url() -> str:
    url = _obj().get("database_url")
    return str(url) if url else settings().resolved_database_url()


def redis_url() -> str | None:
    obj = _obj()
    if "redis_url" in obj:
        return str(obj["redis_url"]) if obj["redis_url"] else None
    return settings().redis_url


async def _nobody(notice: str) -> None:
    return None


@contextlib.asynccontextmanager
async def notices() -> AsyncIterator[Publish]:
    """A ``publish(notice)`` on the Redis bus when one is configured (a no-op otherwise)."""
    url = redis_url()
    if not url:
        yield _nobody
        return
    from opentoken.stores.redis.bus import RedisBus  # only when there is a bus to tell (import cost)

    bus = RedisBus.from_url(url)
    try:
        yield bus.publish
    finally:
        await bus.close()


def cli_message(err: GatewayError) -> str:
    """A GatewayError for the terminal: the field it names becomes the ``--option``."""
    return f"{err.message} (option --{err.param.replace('_', '-')})" if err.param else err.message


def convert(data: dict[str, Any], type: type[T]) -> T:
    """Command-line values into a request struct; a problem is a usage error naming the option."""
    try:
        return msgspec.convert(data, type)
    except msgspec.ValidationError as e:
        msg, param = validation_param(e)
        raise click.BadParameter(msg, param_hint=f"--{param.replace('_', '-')}" if param else None) from e
