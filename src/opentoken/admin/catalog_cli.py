"""``opentoken catalog list|show|set|price|disable|enable|sync``: the catalog's admin commands.

They change the catalog entries in the database (over the packaged catalog and ``OPENTOKEN_CATALOG_FILE``)
and publish the change on the Redis bus when ``OPENTOKEN_REDIS_URL`` is set (see ``admin.cli_env``).
``sync`` reads the providers' model lists with the provider keys and base URLs of this environment
(``ANTHROPIC_API_KEY``, ``OPENTOKEN_ANTHROPIC_BASE_URL``, ...).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from opentoken.admin.catalog_schema import (
    CatalogModelList,
    ModelChange,
    ModelCreate,
    PriceCreate,
    SyncApply,
    catalog_model_out,
    history_out,
    sync_out,
)
from opentoken.admin.catalog_service import CatalogAdmin, Lister
from opentoken.admin.catalog_text import history_text, model_text, models_table, sync_text
from opentoken.admin.cli_env import cli_message, convert, database_url, notices, settings
from opentoken.admin.schema import encode, time_param
from opentoken.catalog.compose import ComposedEntry
from opentoken.catalog.registry import load_base
from opentoken.core.errors import GatewayError
from opentoken.providers.registry import all_providers
from opentoken.stores.base import CATALOG_CHANGED
from opentoken.stores.catalog import SPEC_FIELDS, CapabilitiesSpec
from opentoken.stores.factory import open_stores
from opentoken.stores.sql.migrate import SchemaNotCurrent

if TYPE_CHECKING:
    from opentoken.upstream.models import Listing

T = TypeVar("T")
_NULLABLE = ("description", "released", "deprecated", "retired", "successor")


async def _provider_lists() -> list[Listing]:
    """Each provider's list, through its key and base URL in this environment (the HTTP client is loaded
    only for ``sync``)."""
    from opentoken.settings import provider_settings
    from opentoken.upstream.client import Deployment, UpstreamClient
    from opentoken.upstream.models import Listing, listings

    deployments: list[Deployment] = []
    missing: list[Listing] = []
    for name, provider in all_providers().items():
        ps = provider_settings(name, provider.key_env_vars, base_url_vars=provider.base_url_env_vars)
        if not ps.api_key:
            missing.append(Listing(name, "-", error=f"no API key ({' or '.join(provider.key_env_vars)})"))
            continue
        base_url = ps.base_url or provider.default_base_url
        deployments.append(Deployment(f"{name}-default", provider, base_url, ps.api_key))
    client = UpstreamClient()
    try:
        return [*await listings(client, deployments), *missing]
    finally:
        await client.close()


def _run(action: Callable[[CatalogAdmin], Awaitable[T]]) -> T:
    async def main() -> T:
        config = settings()
        stores = await open_stores(database_url(), migrate=False)
        try:
            async with notices() as publish:

                async def changed() -> None:
                    await publish(CATALOG_CHANGED)

                base = load_base(config.catalog_file, config.timeouts())
                providers = frozenset(all_providers())
                lister: Lister = _provider_lists
                admin = CatalogAdmin(stores.catalog, base, config.retired_models, providers, changed, lister)
                return await action(admin)
        finally:
            await stores.close()

    try:
        return asyncio.run(main())
    except GatewayError as e:
        raise click.ClickException(cli_message(e)) from e
    except SchemaNotCurrent as e:
        raise click.ClickException(str(e)) from e


def _emit(entry_action: Callable[[CatalogAdmin], Awaitable[ComposedEntry]], as_json: bool) -> None:
    async def act(admin: CatalogAdmin) -> Any:
        entry = await entry_action(admin)
        return catalog_model_out(entry, await admin.view(), history=True)

    out = _run(act)
    click.echo(encode(out).decode() if as_json else model_text(out))


def _json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


@click.group("catalog")
def catalog_group() -> None:
    """The model catalog: list and show models, change them, schedule prices, sync with the providers."""


@catalog_group.command("list")
@_json_option
def list_models(as_json: bool) -> None:
    """Every model of the catalog, with its state and the price in force."""

    async def act(admin: CatalogAdmin) -> CatalogModelList:
        snap = await admin.view()
        return CatalogModelList(data=[catalog_model_out(e, snap) for e in snap.composed.entries.values()])

    out = _run(act)
    click.echo(encode(out).decode() if as_json else models_table(out.data))


@catalog_group.command("show")
@click.argument("model_id")
@_json_option
def show_model(model_id: str, as_json: bool) -> None:
    """One model with its price history."""
    _emit(lambda admin: _entry(admin, model_id), as_json)


async def _entry(admin: CatalogAdmin, model_id: str) -> ComposedEntry:
    return (await admin.entry(model_id))[1]


def _bool(value: str, option: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise click.BadParameter(f"expected true or false, got {value!r}", param_hint=option)


def _capabilities(pairs: Sequence[str]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in CapabilitiesSpec.__struct_fields__:
            names = ", ".join(CapabilitiesSpec.__struct_fields__)
            message = f"expected NAME=true|false with NAME one of {names}; got {pair!r}"
            raise click.BadParameter(message, param_hint="--capability")
        out[name] = _bool(value, "--capability")
    return out


def _spec_fields(options: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in ("name", "upstream_model", "context_window", "max_output_tokens", "default_max_tokens", "reasoning"):
        if options.get(name) is not None:
            data[name] = options[name]
    for name in _NULLABLE:
        value = options.get(name)
        if value is not None:
            data[name] = None if value.strip().lower() == "none" else value
    if options.get("capability"):
        data["capabilities"] = _capabilities(options["capability"])
    if options.get("alias"):
        data["aliases"] = list(options["alias"])
    if options.get("fallback"):
        data["fallbacks"] = list(options["fallback"])
    return data


@catalog_group.command("set")
@click.argument("model_id")
@click.option("--name", help="Display name.")
@click.option("--description", help="Description ('none' to clear).")
@click.option("--upstream-model", help="The provider's model id to call.")
@click.option("--context-window", type=int, help="Context window in tokens.")
@click.option("--max-output-tokens", type=int, help="Largest max_tokens the model accepts.")
@click.option("--default-max-tokens", type=int, help="max_tokens sent when the client gives none.")
@click.option("--capability", multiple=True, help="NAME=true|false, e.g. vision=true (repeatable).")
@click.option("--reasoning", help="Reasoning preset of the packaged catalog, e.g. anthropic_adaptive.")
@click.option("--alias", multiple=True, help="Another name for the model (repeatable; replaces the list).")
@click.option("--fallback", multiple=True, help="Fallback model id (repeatable; replaces the list).")
@click.option("--released", help="Release date, YYYY-MM-DD ('none' to clear).")
@click.option("--deprecated", help="Deprecation date, YYYY-MM-DD ('none': not deprecated).")
@click.option("--retired", help="Retirement date, YYYY-MM-DD ('none': not retired).")
@click.option("--successor", help="Model id that replaces it ('none' to clear).")
@click.option("--reset", multiple=True, type=click.Choice(SPEC_FIELDS), help="Back to the catalog file's value.")
@click.option("--input", "input_price", help="New model only: input price, USD per million tokens.")
@click.option("--output", "output_price", help="New model only: output price, USD per million tokens.")
@click.option("--cache-read", help="New model only: cache read price.")
@click.option("--cache-write", help="New model only: cache write price.")
@_json_option
def set_model(model_id: str, as_json: bool, reset: tuple[str, ...], **options: Any) -> None:
    """Change a model, or add one the catalog lacks (then --context-window, --max-output-tokens, --input
    and --output are required). Prices of an existing model change with `opentoken catalog price`."""
    fields = _spec_fields(options)
    price = {k: options[f"{k}_price"] for k in ("input", "output") if options.get(f"{k}_price") is not None}
    price |= {k: options[k] for k in ("cache_read", "cache_write") if options.get(k) is not None}

    async def act(admin: CatalogAdmin) -> ComposedEntry:
        snap = await admin.view()
        if model_id in snap.composed.entries:
            if price:
                raise click.UsageError("prices of an existing model change with `opentoken catalog price`")
            return await admin.change(model_id, convert({**fields, "reset": list(reset)}, ModelChange))
        if reset:
            raise click.UsageError(f"{model_id} is a new model: there is nothing to reset")
        if not {"input", "output"} <= set(price):
            raise click.UsageError(f"{model_id} is a new model: give its --input and --output prices")
        return await admin.create(convert({**fields, "id": model_id, "prices": price}, ModelCreate))

    _emit(act, as_json)


@catalog_group.command("price")
@click.argument("model_id")
@click.option("--input", "input_price", help="Input price, USD per million tokens.")
@click.option("--output", "output_price", help="Output price, USD per million tokens.")
@click.option("--cache-read", help="Cache read price (default: as the price it follows).")
@click.option("--cache-write", help="Cache write price (default: as the price it follows).")
@click.option("--effective-from", help="When it takes effect, ISO 8601 (default: now; never in the past).")
@click.option("--cancel", help="Cancel the scheduled price taking effect at this time instead.")
@_json_option
def price(model_id: str, as_json: bool, cancel: str | None, effective_from: str | None, **given: Any) -> None:
    """Show a model's price history; with --input and --output, add a price (now, or scheduled)."""
    values = {k: v for k, v in given.items() if v is not None}

    async def act(admin: CatalogAdmin) -> ComposedEntry:
        if cancel is not None:
            return await admin.cancel_price(model_id, time_param(cancel, "cancel"))
        if not values and effective_from is None:
            return await _entry(admin, model_id)
        data: dict[str, Any] = {k.removesuffix("_price"): v for k, v in values.items()}
        if effective_from is not None:
            data["effective_from"] = time_param(effective_from, "effective_from")
        return await admin.add_price(model_id, convert(data, PriceCreate))

    async def history(admin: CatalogAdmin) -> Any:
        entry = await act(admin)
        return history_out(entry, await admin.view())

    out = _run(history)
    click.echo(encode(out).decode() if as_json else history_text(out))


@catalog_group.command("disable")
@click.argument("model_id")
@_json_option
def disable(model_id: str, as_json: bool) -> None:
    """Stop serving a model (calls get model_not_found on every replica within a second)."""
    _emit(lambda admin: admin.set_enabled(model_id, False), as_json)


@catalog_group.command("enable")
@click.argument("model_id")
@_json_option
def enable(model_id: str, as_json: bool) -> None:
    """Serve a disabled model again (it needs a price)."""
    _emit(lambda admin: admin.set_enabled(model_id, True), as_json)


@catalog_group.command("sync")
@click.option("--add", multiple=True, help="Add this new model the providers list (disabled until priced).")
@click.option("--add-all", is_flag=True, help="Add every new model the providers list.")
@click.option("--disable", "disable_ids", multiple=True, help="Disable this model the providers no longer list.")
@click.option("--disable-all", is_flag=True, help="Disable every model the providers no longer list.")
@_json_option
def sync(add: tuple[str, ...], add_all: bool, disable_ids: tuple[str, ...], disable_all: bool, as_json: bool) -> None:
    """Compare the catalog with the providers' own model lists; apply what you name."""

    apply = SyncApply(add=list(add), disable=list(disable_ids), add_all=add_all, disable_all=disable_all)
    wanted = apply.add or apply.disable or add_all or disable_all

    async def act(admin: CatalogAdmin) -> Any:
        return sync_out(*await admin.sync(apply if wanted else None))

    out = _run(act)
    click.echo(encode(out).decode() if as_json else sync_text(out))
