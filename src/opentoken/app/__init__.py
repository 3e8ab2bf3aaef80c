"""Composition root: builds stores, limits, catalog, upstream client and routes. No module globals."""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from opentoken.admin.catalog_service import CatalogAdmin
from opentoken.admin.routes import AdminServices, admin_routes
from opentoken.app.deployments import deployment_pool
from opentoken.auth.authenticate import Authenticator
from opentoken.catalog.live import LiveCatalog
from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import GatewayError
from opentoken.core.seal import KeyRing, decode_key, encode_key, new_key
from opentoken.http.disconnect import CancelOnDisconnect
from opentoken.http.embeddings import embeddings_routes
from opentoken.http.endpoint import IngressEndpoint
from opentoken.http.errors import gateway_error_handler, http_exception_handler, unexpected_error_handler
from opentoken.http.failures import InternalErrors
from opentoken.http.health import Readiness, health_routes
from opentoken.http.lane import Lane
from opentoken.http.lazy import LazyRoutes
from opentoken.http.metrics import metrics_routes, serve_metrics
from opentoken.http.middleware import RequestIdMiddleware
from opentoken.http.observe import Observe, Observer
from opentoken.http.openapi import openapi_document
from opentoken.http.responses import responses_routes
from opentoken.http.routes import public_routes
from opentoken.http.worker import WorkerHeader, worker_header
from opentoken.ingress.openai_responses.codec import OpenAIResponsesCodec
from opentoken.ingress.openai_responses.state import StateSeal
from opentoken.limits.factory import open_limits
from opentoken.metering.metrics import Metrics, ObservedLedger
from opentoken.metering.writer import LedgerWriter
from opentoken.pipeline import Pipeline
from opentoken.providers.registry import all_providers, embedders
from opentoken.routing.retry import RetryPolicy
from opentoken.routing.router import Router
from opentoken.settings import Settings, telemetry_settings
from opentoken.stores.base import CATALOG_CHANGED, notice_router
from opentoken.stores.factory import open_cooldowns, open_stores
from opentoken.stores.health import RedisProbe
from opentoken.stores.responses import SecretStore
from opentoken.telemetry.tracing import open_telemetry
from opentoken.upstream.client import UpstreamClient
from opentoken.upstream.media import MediaFetcher
from opentoken.upstream.models import Listing, listings

SEAL_SECRET = "responses_seal_key"


class SealKeyError(ValueError):
    """A configured sealing key is not usable (raised at start-up, never on a request)."""


async def seal_ring(settings: Settings, secrets: SecretStore) -> KeyRing:
    """The keys that seal reasoning state: the configured ones (the first seals), then the key this
    deployment generated for itself on its first start (kept in the database, so every replica shares it),
    which seals only when none is configured and keeps opening what it sealed after keys are configured."""
    configured = []
    for n, secret in enumerate(settings.seal_keys):
        try:
            configured.append(decode_key(secret.get_secret_value()))
        except ValueError as e:
            raise SealKeyError(f"OPENTOKEN_SEAL_KEYS entry {n + 1}: {e}") from e
    generated = decode_key(await secrets.get_or_create(SEAL_SECRET, encode_key(new_key())))
    return KeyRing([*configured, generated])


@dataclass(frozen=True, slots=True)
class WorkerLink:
    """This process is worker ``number`` of ``serve --workers N``: the supervisor has migrated the database,
    keeps the counters and relays key and catalog changes on the Unix socket ``supervisor``, and runs the
    sandbox at ``sandbox_url`` (None: no provider needs it)."""

    number: int
    supervisor: str
    sandbox_url: str | None


def openapi_route() -> Route:
    """``GET /openapi.json``: the document of the gateway's own routes (``opentoken.http.openapi``)."""
    document = orjson.dumps(openapi_document())

    async def serve(request: Request) -> Response:
        return Response(document, media_type="application/json")

    return Route("/openapi.json", serve, methods=["GET"])


def build_app(settings: Settings, worker: WorkerLink | None = None) -> Starlette:
    providers = all_providers()
    catalog = load_catalog(settings.catalog_file, settings.timeouts(), settings.retired_models)
    otel = telemetry_settings()  # a bad OTEL_* setting fails here, before the server starts
    metrics = Metrics()
    observer = Observer(metrics, access_log=settings.access_log)
    lane = Lane(observer, (worker_header(worker.number),) if worker is not None else ())
    readiness = Readiness(probes=[], timeout=settings.readiness_timeout_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            telemetry = observer.telemetry = open_telemetry(otel)
            if telemetry is not None:
                stack.push_async_callback(telemetry.close)
            tracer = telemetry.tracer if telemetry is not None else None
            stores = await open_stores(settings.resolved_database_url(), migrate=True, migrated=worker is not None)
            stack.push_async_callback(stores.close)
            readiness.probes = list(stores.probes)
            if settings.redis_url:
                redis_probe = RedisProbe(settings.redis_url)
                stack.push_async_callback(redis_probe.close)
                readiness.probes.append(("redis", redis_probe))
            limiter, bus = await open_limits(
                settings.redis_url,
                stores.ledger.spend,
                metrics=metrics,
                tracer=tracer,
                supervisor=worker.supervisor if worker is not None else None,
            )
            stack.push_async_callback(limiter.close)
            stack.push_async_callback(bus.close)
            live = LiveCatalog(catalog, stores.catalog, frozenset(providers), settings.catalog_refresh_seconds)
            await live.start()
            stack.push_async_callback(live.close)
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
                max_urls=settings.media_max_urls,
                max_total_bytes=settings.media_max_total_bytes,
                concurrency=settings.media_concurrency,
            )
            stack.push_async_callback(media.close)
            pool = await deployment_pool(
                settings,
                providers,
                stack,
                sandbox_url=worker.sandbox_url if worker is not None else None,
                banner=worker is None or worker.number == 1,  # the workers share one sandbox: one banner
            )
            cooldowns = open_cooldowns(settings.redis_url, settings.cooldown_failures, settings.cooldown_seconds)
            stack.push_async_callback(cooldowns.close)
            authenticator = Authenticator(stores.keys, ttl=settings.key_cache_seconds)
            await bus.start(notice_router(authenticator.invalidate, live.changed))
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
                stream_stall_seconds=settings.stream_stall_seconds,
                embedders=embedders(),
            )

            async def catalog_changed() -> None:
                await live.reload()  # this replica at once; the others when they hear the bus
                await bus.publish(CATALOG_CHANGED)

            async def provider_lists() -> list[Listing]:
                return await listings(client, pool.defaults())

            composed = catalog.snapshot.composed
            catalog_admin = CatalogAdmin(
                stores.catalog, composed.base, composed.retired, frozenset(providers), catalog_changed, provider_lists
            )
            admin = AdminServices(
                keys=stores.keys,
                ledger=stores.ledger,
                admin_key=settings.admin_key,
                on_key_changed=bus.publish,
                catalog=catalog_admin,
            )
            app.router.routes.extend(public_routes(pipeline, settings.max_body_bytes, admin))
            seal = StateSeal(await seal_ring(settings, stores.secrets))
            codec = OpenAIResponsesCodec(seal, stores.responses, settings.response_ttl_seconds)
            app.router.routes.extend(responses_routes(codec, pipeline, settings.max_body_bytes))
            app.router.routes.extend(embeddings_routes(pipeline, settings.max_body_bytes))
            app.router.routes.extend(admin_routes(admin))
            metrics_token = settings.metrics_token or settings.admin_key
            if settings.metrics_port is None:
                app.router.routes.extend(metrics_routes(metrics, metrics_token))
            else:
                host = settings.metrics_host or settings.host
                stack.push_async_callback(await serve_metrics(metrics, metrics_token, host, settings.metrics_port))
            app.router.routes.append(openapi_route())

            def console() -> list[BaseRoute]:
                from opentoken.web.routes import console_routes

                return console_routes(
                    catalog=catalog,
                    pipeline=pipeline,
                    admin=admin,
                    keys=stores.keys,
                    ledger=stores.ledger,
                    sessions=stores.sessions,
                    settings=settings,
                )

            app.router.routes.append(LazyRoutes(console))  # imported and built on its first request
            app.state.pipeline = pipeline
            lane.routes.update(lane_routes(app.router.routes))
            settle_memory()
            yield

    app = Gateway(
        lane,
        routes=health_routes(readiness),
        lifespan=lifespan,
        middleware=[
            *([Middleware(WorkerHeader, number=worker.number)] if worker is not None else []),
            Middleware(CancelOnDisconnect),
            Middleware(RequestIdMiddleware),
            Middleware(Observe, observer=observer),
            Middleware(InternalErrors),  # inside Observe, so a 500 it answers is observed and logged
        ],
        exception_handlers={
            GatewayError: gateway_error_handler,
            HTTPException: http_exception_handler,
            Exception: unexpected_error_handler,
        },
    )
    app.router.redirect_slashes = False  # its redirects are built from the client's Host header
    app.state.readiness = readiness
    return app


class Gateway(Starlette):
    """The Starlette app, with the model routes served by the fast lane (``opentoken.http.lane``)."""

    def __init__(self, lane: Lane, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lane = lane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.lane.endpoint(scope)
        if endpoint is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await self.lane(endpoint, scope, receive, send)


def lane_routes(routes: Sequence[BaseRoute]) -> dict[str, ASGIApp]:
    """The routes the lane serves: POST-only routes to the plain-ASGI ingress endpoints."""
    return {
        route.path: route.app
        for route in routes
        if isinstance(route, Route) and route.methods == {"POST"} and isinstance(route.app, IngressEndpoint)
    }


def settle_memory() -> None:
    """After startup: collect the garbage it left, move the survivors (modules, the catalog, routes) out of the
    collector's sight for good (``gc.freeze``: later collections stop rescanning them), and hand freed heap back
    to the system (glibc's ``malloc_trim``; a no-op where that is not the C library). Only the first app of a
    process freezes: a frozen object is never collected, and a process that builds many apps (the tests) would
    otherwise keep every discarded one."""
    gc.collect()
    if gc.get_freeze_count() == 0:
        gc.freeze()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


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
