"""Composition root: builds stores, limits, catalog, upstream client and routes. No module globals."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from opentoken.admin.routes import AdminServices, admin_routes
from opentoken.auth.authenticate import Authenticator
from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import GatewayError
from opentoken.http.disconnect import CancelOnDisconnect
from opentoken.http.errors import gateway_error_handler, http_exception_handler, unexpected_error_handler
from opentoken.http.health import Readiness, health_routes
from opentoken.http.metrics import metrics_routes, serve_metrics
from opentoken.http.middleware import RequestIdMiddleware
from opentoken.http.observe import Observe, Observer
from opentoken.http.routes import public_routes
from opentoken.limits.factory import open_limits
from opentoken.metering.metrics import Metrics, ObservedLedger
from opentoken.metering.writer import LedgerWriter
from opentoken.pipeline import Pipeline
from opentoken.providers.base import Provider
from opentoken.providers.registry import all_providers
from opentoken.routing.pool import DeploymentPool
from opentoken.routing.retry import RetryPolicy
from opentoken.routing.router import Router
from opentoken.settings import DeploymentConfig, Settings, env_value, provider_settings, telemetry_settings
from opentoken.stores.factory import open_cooldowns, open_stores
from opentoken.stores.health import RedisProbe
from opentoken.telemetry.tracing import open_telemetry
from opentoken.upstream.client import Deployment, UpstreamClient
from opentoken.upstream.media import MediaFetcher
from opentoken_sandbox.app import running_sandbox

log = logging.getLogger("opentoken")
SANDBOX_KEY = "sandbox-key"


def _banner(names: list[str], url: str) -> None:
    line = "!" * 78
    log.warning(
        "\n%s\n!! NO PROVIDER KEY for %s: those models are served by the built-in SANDBOX at %s\n"
        "!! (simulated replies, not a real model). Set the provider API key to use the real API.\n%s",
        line,
        ", ".join(names),
        url,
        line,
    )


class DeploymentConfigError(ValueError):
    """A configured deployment cannot be used (raised at start-up, never on a request)."""


def configured_deployments(
    configs: Sequence[DeploymentConfig], providers: Mapping[str, Provider], env: Mapping[str, str] | None = None
) -> list[Deployment]:
    """Turn ``settings.deployments`` into deployments, resolving each key from its environment variable."""
    out: list[Deployment] = []
    for i, cfg in enumerate(configs):
        name = cfg.name or f"{cfg.provider}-{i + 1}"
        provider = providers.get(cfg.provider)
        if provider is None:
            raise DeploymentConfigError(
                f"deployment {name}: unknown provider {cfg.provider!r} (one of {sorted(providers)})"
            )
        if cfg.api_key_env:
            key = env_value(cfg.api_key_env, env)
            where = cfg.api_key_env
        else:
            key = provider_settings(provider.name, provider.key_env_vars, env=env).api_key
            where = " or ".join(provider.key_env_vars)
        if not key:
            raise DeploymentConfigError(f"deployment {name}: no API key in {where}")
        out.append(
            Deployment(
                name=name,
                provider=provider,
                base_url=cfg.base_url or provider.default_base_url,
                api_key=key,
                weight=cfg.weight,
                models=tuple(cfg.models),
            )
        )
    names = [d.name for d in out]
    if len(set(names)) != len(names):
        raise DeploymentConfigError(f"deployment names must be unique: {names}")
    return out


async def _deployments(
    settings: Settings, providers: Mapping[str, Provider], stack: contextlib.AsyncExitStack
) -> DeploymentPool:
    """The default deployment of each provider (its key and base URL, or the sandbox), plus the configured ones."""
    found: dict[str, Deployment] = {}
    missing: list[str] = []
    for name, provider in providers.items():
        ps = provider_settings(name, provider.key_env_vars, base_url_vars=provider.base_url_env_vars)
        if ps.api_key and settings.sandbox is not True:
            base = ps.base_url or provider.default_base_url
            found[name] = Deployment(name=f"{name}-default", provider=provider, base_url=base, api_key=ps.api_key)
        elif settings.sandbox is not False:
            missing.append(name)
    if missing:
        url = await stack.enter_async_context(running_sandbox())
        _banner(missing, url)
        for name in missing:
            found[name] = Deployment(
                name=f"{name}-sandbox", provider=providers[name], base_url=url, api_key=SANDBOX_KEY
            )
    configured = [] if settings.sandbox is True else configured_deployments(settings.deployments, providers)
    return DeploymentPool(found, configured)


def build_app(settings: Settings) -> Starlette:
    providers = all_providers()
    catalog = load_catalog(settings.catalog_file, settings.timeouts())
    otel = telemetry_settings()  # a bad OTEL_* setting fails here, before the server starts
    metrics = Metrics()
    observer = Observer(metrics, access_log=settings.access_log)
    readiness = Readiness(probes=[], timeout=settings.readiness_timeout_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            telemetry = observer.telemetry = open_telemetry(otel)
            if telemetry is not None:
                stack.push_async_callback(telemetry.close)
            tracer = telemetry.tracer if telemetry is not None else None
            stores = await open_stores(settings.resolved_database_url(), migrate=True)
            stack.push_async_callback(stores.close)
            readiness.probes = list(stores.probes)
            if settings.redis_url:
                redis_probe = RedisProbe(settings.redis_url)
                stack.push_async_callback(redis_probe.close)
                readiness.probes.append(("redis", redis_probe))
            limiter, bus = await open_limits(settings.redis_url, stores.ledger.spend, metrics=metrics, tracer=tracer)
            stack.push_async_callback(limiter.close)
            stack.push_async_callback(bus.close)
            writer = LedgerWriter(
                ObservedLedger(stores.ledger, metrics), max_delay_ms=0, metrics=metrics, tracer=tracer
            )
            await writer.start()
            stack.push_async_callback(writer.close)
            metrics.watch(in_flight=lambda: observer.in_flight, ledger_queue=lambda: writer.pending)
            client = UpstreamClient(propagate_trace=tracer is not None)
            stack.push_async_callback(client.close)
            media = MediaFetcher(
                max_bytes=settings.media_max_bytes,
                timeout=settings.media_timeout_seconds,
                allow=settings.media_allow_hosts,
            )
            stack.push_async_callback(media.close)
            pool = await _deployments(settings, providers, stack)
            cooldowns = open_cooldowns(settings.redis_url, settings.cooldown_failures, settings.cooldown_seconds)
            stack.push_async_callback(cooldowns.close)
            authenticator = Authenticator(stores.keys, ttl=settings.key_cache_seconds)
            await bus.start(authenticator.invalidate)
            policy = RetryPolicy(settings.max_attempts, settings.retry_base_seconds, settings.retry_max_seconds)
            pipeline = Pipeline(
                catalog=catalog,
                providers=providers,
                authenticator=authenticator,
                limiter=limiter,
                ledger=writer,
                replay=stores.replay,
                router=Router(pool, cooldowns, policy, metrics=metrics, tracer=tracer),
                client=client,
                media=media,
                replay_ttl=settings.replay_ttl_seconds,
            )
            admin = AdminServices(
                keys=stores.keys, ledger=stores.ledger, admin_key=settings.admin_key, on_key_changed=bus.publish
            )
            app.router.routes.extend(public_routes(pipeline, settings.max_body_bytes, admin))
            app.router.routes.extend(admin_routes(admin))
            metrics_token = settings.metrics_token or settings.admin_key
            if settings.metrics_port is None:
                app.router.routes.extend(metrics_routes(metrics, metrics_token))
            else:
                host = settings.metrics_host or settings.host
                stack.push_async_callback(await serve_metrics(metrics, metrics_token, host, settings.metrics_port))
            app.state.pipeline = pipeline
            yield

    app = Starlette(
        routes=health_routes(readiness),
        lifespan=lifespan,
        middleware=[
            Middleware(CancelOnDisconnect),
            Middleware(RequestIdMiddleware),
            Middleware(Observe, observer=observer),
        ],
        exception_handlers={
            GatewayError: gateway_error_handler,
            HTTPException: http_exception_handler,
            Exception: unexpected_error_handler,
        },
    )
    app.state.readiness = readiness
    return app


def mark_draining(app: object) -> None:
    """Tell the running app that the server is shutting down: ``/readyz`` turns 503, and calls cut from now on
    were cut by the shutdown."""
    state = getattr(app, "state", None)
    pipeline = getattr(state, "pipeline", None)
    if isinstance(pipeline, Pipeline):
        pipeline.draining = True
    readiness = getattr(state, "readiness", None)
    if isinstance(readiness, Readiness):
        readiness.draining = True  # GET /readyz answers 503 from now on
