"""Admin commands: ``opentoken keys create|list|show|update|revoke|rotate``, ``opentoken usage``,
``opentoken migrate`` (and ``opentoken catalog ...``, from ``admin.catalog_cli``).

They work directly on the database (``OPENTOKEN_DATABASE_URL``, or ``obj["database_url"]`` on the click
context). Key changes are published on the Redis bus when ``OPENTOKEN_REDIS_URL`` is set, so every replica
drops the key at once; in any case a running gateway sees them within its key-cache lifetime (one second),
because it re-reads keys from the same database. The catalog commands are in ``admin.catalog_cli``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import click
from sqlalchemy.engine import make_url

from opentoken.admin.catalog_cli import catalog_group
from opentoken.admin.cli_env import cli_message as _cli_message
from opentoken.admin.cli_env import convert as _convert
from opentoken.admin.cli_env import database_url, notices
from opentoken.admin.schema import (
    GROUPS,
    KeyCreate,
    KeyList,
    KeyOut,
    KeyUpdate,
    encode,
    group_param,
    key_out,
    time_param,
    usage_out,
)
from opentoken.admin.service import AdminServices
from opentoken.admin.text import key_text, keys_table, usage_table
from opentoken.core.errors import GatewayError
from opentoken.stores.base import CLEARABLE, UsageQuery
from opentoken.stores.factory import open_stores, run_migrations
from opentoken.stores.sql.migrate import SchemaNotCurrent

T = TypeVar("T")
PERIODS = ("none", "daily", "weekly", "monthly")


def _run(action: Callable[[AdminServices], Awaitable[T]]) -> T:
    async def main() -> T:
        stores = await open_stores(database_url(), migrate=False)
        try:
            async with notices() as publish:
                return await action(AdminServices(keys=stores.keys, ledger=stores.ledger, on_key_changed=publish))
        finally:
            await stores.close()

    try:
        return asyncio.run(main())
    except GatewayError as e:
        raise click.ClickException(_cli_message(e)) from e
    except SchemaNotCurrent as e:
        raise click.ClickException(str(e)) from e


def _metadata(pairs: Sequence[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--metadata")
        result[name] = value
    return result


def _fields(options: dict[str, Any]) -> dict[str, Any]:
    """Key fields given on the command line (unset options are left out)."""
    data: dict[str, Any] = {}
    for name in ("name", "owner", "budget_period", "rpm", "tpm", "max_concurrent"):
        if options.get(name) is not None:
            data[name] = options[name]
    if options.get("models"):
        data["models"] = list(options["models"])
    if options.get("budget_usd") is not None:
        data["budget_usd"] = options["budget_usd"]
    if options.get("expires_at") is not None:
        data["expires_at"] = _cli_time(options["expires_at"], "expires_at")
    if options.get("metadata"):
        data["metadata"] = _metadata(options["metadata"])
    return data


def _cli_time(value: str, param: str) -> Any:
    try:
        return time_param(value, param)
    except GatewayError as e:
        raise click.BadParameter(e.message, param_hint=f"--{param.replace('_', '-')}") from e


def _emit_key(out: KeyOut, as_json: bool) -> None:
    click.echo(encode(out).decode() if as_json else key_text(out))


def _emit_secret(out: KeyOut, secret: str, as_json: bool, verb: str) -> None:
    """Print a new secret: without --json it is the last line of stdout, alone."""
    out.key = secret
    if as_json:
        click.echo(encode(out).decode())
        return
    click.echo(f"{verb} key {out.id} ({out.name}), prefix {out.prefix}...")
    click.echo("Save this secret now; it is not stored and will not be shown again:")
    click.echo(secret)


def key_options(update: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option("--name", required=not update, help="Human name of the key."),
            click.option("--owner", help="Who the key belongs to."),
            click.option("--models", multiple=True, help="Allowed model pattern, e.g. 'google/*' (repeatable)."),
            click.option("--budget-usd", help="Spend cap in USD per budget period (exact decimal)."),
            click.option("--budget-period", type=click.Choice(PERIODS), help="When the budget resets (UTC)."),
            click.option("--rpm", type=int, help="Requests per minute."),
            click.option("--tpm", type=int, help="Tokens per minute."),
            click.option("--max-concurrent", type=int, help="Requests in flight at once."),
            click.option("--expires-at", help="Expiry time, ISO 8601 (a date means midnight UTC)."),
            click.option("--metadata", multiple=True, help="KEY=VALUE metadata (repeatable)."),
            click.option("--json", "as_json", is_flag=True, help="Print JSON."),
        ]
        if update:
            options.append(
                click.option("--clear", multiple=True, type=click.Choice(list(CLEARABLE)), help="Reset a field.")
            )
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


@click.group("keys")
def keys_group() -> None:
    """Create, inspect, change, revoke and rotate API keys."""


@keys_group.command("create")
@key_options(update=False)
def create_key(as_json: bool, **options: Any) -> None:
    """Create a key. The secret is printed once (the last line of output)."""
    spec = _convert(_fields(options), KeyCreate)
    key, secret = _run(lambda admin: admin.create_key(spec))
    _emit_secret(key_out(key), secret, as_json, "Created")


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_keys(as_json: bool) -> None:
    """List keys (secrets are never shown, only their prefix)."""
    keys = [key_out(k) for k in _run(lambda admin: admin.list_keys())]
    click.echo(encode(KeyList(data=keys)).decode() if as_json else keys_table(keys))


@keys_group.command("show")
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_key(key_id: str, as_json: bool) -> None:
    """Show a key with its spend in the current budget period."""
    _emit_key(_run(lambda admin: admin.key_detail(key_id)), as_json)


@keys_group.command("update")
@click.argument("key_id")
@key_options(update=True)
def update_key(key_id: str, as_json: bool, clear: tuple[str, ...], **options: Any) -> None:
    """Change fields of a key; --clear FIELD resets one (e.g. --clear rpm)."""
    fields = _fields(options)
    both = sorted(set(fields) & set(clear))
    if both:
        raise click.BadParameter(f"cannot both set and clear {', '.join(both)}", param_hint="--clear")
    changes = _convert(fields, KeyUpdate).changes()
    changes = replace(changes, clear=(*changes.clear, *clear))
    key = _run(lambda admin: admin.update_key(key_id, changes))
    _emit_key(key_out(key), as_json)


@keys_group.command("revoke")
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def revoke_key(key_id: str, as_json: bool) -> None:
    """Revoke a key: it stops working at once (within a second on a running gateway)."""
    out = key_out(_run(lambda admin: admin.revoke_key(key_id)))
    click.echo(encode(out).decode() if as_json else f"Revoked key {out.id} ({out.name}).")


@keys_group.command("rotate")
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def rotate_key(key_id: str, as_json: bool) -> None:
    """Give a key a new secret (printed last); the old secret stops working."""
    key, secret = _run(lambda admin: admin.rotate_key(key_id))
    _emit_secret(key_out(key), secret, as_json, "Rotated")


@click.command("usage")
@click.option("--key", "key_id", help="Only this key id.")
@click.option("--model", help="Only this model id (e.g. google/gemini-3-flash).")
@click.option("--provider", help="Only this provider.")
@click.option("--since", help="From this date or time (ISO 8601, UTC if no offset), inclusive.")
@click.option("--until", help="Up to this date or time, exclusive.")
@click.option(
    "--group-by",
    multiple=True,
    default=("key,model",),
    show_default=True,
    help=f"Comma-separated groups from {', '.join(GROUPS)}; 'none' for totals only.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def usage(
    key_id: str | None,
    model: str | None,
    provider: str | None,
    since: str | None,
    until: str | None,
    group_by: tuple[str, ...],
    as_json: bool,
) -> None:
    """Requests, tokens by kind and cost from the usage ledger."""
    try:
        groups = group_param([g for g in group_by if g.strip().lower() != "none"])
    except GatewayError as e:
        raise click.BadParameter(e.message, param_hint="--group-by") from e
    query = UsageQuery(
        key_id=key_id,
        model=model,
        provider=provider,
        since=None if since is None else _cli_time(since, "since"),
        until=None if until is None else _cli_time(until, "until"),
        group_by=groups,
    )
    result = usage_out(_run(lambda admin: admin.usage(query)), groups)
    click.echo(encode(result).decode() if as_json else usage_table(result))


@click.command("migrate")
def migrate() -> None:
    """Create or upgrade the database schema to this release."""
    url = database_url()
    revision = asyncio.run(run_migrations(url))
    click.echo(f"Database {make_url(url).render_as_string(hide_password=True)} is at revision {revision}.")


def register_commands(group: click.Group) -> None:
    """Attach ``keys``, ``catalog``, ``usage`` and ``migrate`` to the top-level ``opentoken`` group."""
    group.add_command(keys_group)
    group.add_command(catalog_group)
    group.add_command(usage)
    group.add_command(migrate)
