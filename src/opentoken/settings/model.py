"""The settings of the gateway: one typed struct, every field with its default and description.

``load.py`` fills it from the config file and the environment; ``report.py`` explains it (``opentoken config``,
the README's table).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from opentoken.catalog.lifecycle import RetiredPolicy
from opentoken.catalog.model import Timeouts

_TIMEOUTS = Timeouts()


class Secret:
    """A secret setting value: never shown by ``repr`` or ``str`` (logs, tracebacks, ``opentoken config``)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class DeploymentConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One extra place a provider's models are served from (``[[deployments]]`` in the config file, or
    ``OPENTOKEN_DEPLOYMENTS`` as a JSON list). See docs/reliability.md."""

    provider: str  # "anthropic" | "google"
    name: str | None = None  # default "{provider}-{n}"; names the deployment in logs and in shared cooldowns
    base_url: str | None = None  # default: the provider's own API
    api_key_env: str | None = None  # variable holding the key; default: the provider's usual key variables
    weight: Annotated[float, Meta(gt=0)] = 1.0
    models: list[str] = msgspec.field(default_factory=list)  # fnmatch patterns on public ids; empty: all


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every setting of the gateway. Environment variable ``OPENTOKEN_<NAME>`` or key ``<name>`` in the TOML file
    named by ``OPENTOKEN_CONFIG`` (the environment wins). The README's table is generated from these fields.
    Built by ``load_settings``, which checks every value; constructing one directly (tests) checks nothing."""

    host: Annotated[str, Meta(description="interface `serve` listens on")] = "127.0.0.1"
    port: Annotated[int, Meta(description="port `serve` listens on")] = 8000
    workers: Annotated[
        Annotated[int, Meta(ge=1)] | None,
        Meta(
            description=(
                "processes `serve` answers from on its one port; default: one per core this process may run on (1"
                " with `memory://`); limits, budgets and the ledger stay exact across them (docs/deploy.md)"
            )
        ),
    ] = None
    data_dir: Annotated[Path, Meta(description="folder of the default SQLite database")] = Path("data")
    database_url: Annotated[
        str,
        Meta(
            description=(
                "`sqlite:///path` or `postgresql://...` (keys, ledger, replay state); default: "
                "`sqlite:///<data_dir>/opentoken.db`, migrated on start"
            )
        ),
    ] = ""
    redis_url: Annotated[
        str | None,
        Meta(
            description=(
                "`redis://...` for counters, reservations, cooldowns and key-change notices shared by replicas"
            )
        ),
    ] = None
    admin_key: Annotated[
        str | None,
        Meta(description=("enables the admin API under `/admin/v1` (docs/admin-api.md) and the operator console")),
    ] = None
    catalog_file: Annotated[
        Path | None,
        Meta(description=("a TOML file merged over the packaged catalog (same shape as `catalog/models.toml`)")),
    ] = None
    retired_models: Annotated[
        RetiredPolicy,
        Meta(
            description=(
                "a call to a retired model: `successor` (answered by its successor, said in a header) or `refuse`"
                " (410 `model_retired` naming the successor); see docs/catalog.md"
            )
        ),
    ] = "successor"
    catalog_refresh_seconds: Annotated[
        float,
        Meta(gt=0, le=1.0, description=("how often the catalog re-reads run-time changes (behind the bus notices)")),
    ] = 0.5
    log_level: Annotated[str, Meta(description="debug, info, warning or error")] = "info"
    proxy_headers: Annotated[bool, Meta(description="trust `X-Forwarded-*` (only behind a reverse proxy)")] = False
    max_body_bytes: Annotated[int, Meta(description="largest request body accepted (413 above)")] = 32 * 1024 * 1024
    replay_ttl_seconds: Annotated[int, Meta(description=("how long stored provider state (thinking) is kept"))] = (
        7 * 24 * 3600
    )
    key_cache_seconds: Annotated[
        float, Meta(description=("how long a key lookup is cached (revocation delay bound)"))
    ] = 1.0
    media_max_bytes: Annotated[int, Meta(description=("largest image the gateway fetches for a provider"))] = (
        20 * 1024 * 1024
    )
    media_timeout_seconds: Annotated[float, Meta(description="time limit for fetching one image URL")] = 10.0
    media_allow_hosts: Annotated[
        list[str], Meta(description=("hosts / CIDRs exempt from the SSRF guard when fetching image URLs (JSON list)"))
    ] = msgspec.field(default_factory=list)
    media_max_urls: Annotated[int, Meta(ge=0, description="image URLs one request may ask the gateway to fetch")] = 16
    media_max_total_bytes: Annotated[int, Meta(gt=0, description="all fetched media of one request")] = 50 * 1024 * 1024
    media_concurrency: Annotated[int, Meta(gt=0, description="image fetches at a time for one request")] = 4
    max_attempts: Annotated[int, Meta(description="upstream attempts per model before falling back")] = 3
    retry_base_seconds: Annotated[float, Meta(description="first retry backoff (exponential, full jitter)")] = 0.25
    retry_max_seconds: Annotated[float, Meta(description="longest retry backoff")] = 8.0
    cooldown_failures: Annotated[
        int, Meta(description=("consecutive retryable failures that put a deployment in cooldown"))
    ] = 3
    cooldown_seconds: Annotated[float, Meta(description="how long a deployment cools down")] = 30.0
    deployments: Annotated[
        list[DeploymentConfig], Meta(description=("extra deployments (JSON list; see docs/reliability.md)"))
    ] = msgspec.field(default_factory=list)
    connect_timeout_seconds: Annotated[
        float, Meta(gt=0, description=("upstream connect timeout (a catalog entry may override timeouts)"))
    ] = _TIMEOUTS.connect
    first_token_timeout_seconds: Annotated[float, Meta(gt=0, description=("wait for the first token"))] = (
        _TIMEOUTS.first_token
    )
    idle_timeout_seconds: Annotated[float, Meta(gt=0, description="longest gap between stream events")] = _TIMEOUTS.idle
    total_timeout_seconds: Annotated[float, Meta(gt=0, description=("longest a request may take in all"))] = (
        _TIMEOUTS.total
    )
    max_header_bytes: Annotated[int, Meta(ge=1024, description="request line and headers; larger: 431")] = 32 * 1024
    request_header_timeout_seconds: Annotated[
        float, Meta(gt=0, description=("slow senders: the head in this time or 408"))
    ] = 10.0
    request_body_timeout_seconds: Annotated[
        float, Meta(gt=0, description=("slow senders: the body in this time or 408"))
    ] = 60.0
    stream_stall_seconds: Annotated[
        float, Meta(gt=0, description=("a stream whose client reads nothing this long ends"))
    ] = 30.0
    drain_seconds: Annotated[
        float, Meta(description=("on SIGTERM: how long requests and streams in flight may finish"))
    ] = 30.0
    sandbox: Annotated[
        bool | None,
        Meta(description=("`true`: always the built-in sandbox; `false`: never; unset: for providers without a key")),
    ] = None
    sandbox_control: Annotated[
        bool,
        Meta(description=("the embedded sandbox's control surface (`/_sandbox/*`, fault markers); off by default")),
    ] = False
    response_ttl_seconds: Annotated[
        int, Meta(gt=0, description=("how long stored responses (Responses API, `store: true`) are kept"))
    ] = 30 * 24 * 3600
    seal_keys: Annotated[
        list[Secret],
        Meta(
            description=(
                "keys sealing reasoning state handed to clients (`encrypted_content`): base64 of 32 random bytes "
                "each, comma-separated; the first seals, all open (rotation); unset: a key generated once and "
                "kept in the database"
            )
        ),
    ] = msgspec.field(default_factory=list)
    console_session_hours: Annotated[float, Meta(gt=0, description="how long a web console sign-in lasts")] = 12.0
    session_secret: Annotated[
        str | None,
        Meta(
            description=(
                "signs the web console's session cookies; set the same value on every replica (default: random "
                "per process)"
            )
        ),
    ] = None
    cookie_secure: Annotated[
        bool,
        Meta(description=("mark console cookies `Secure` even when the gateway sees plain HTTP (behind a TLS proxy)")),
    ] = False
    shutdown_delay_seconds: Annotated[
        float,
        Meta(
            ge=0,
            description=(
                "on SIGTERM, keep serving this long with `/readyz` answering 503 (so load balancers stop "
                "sending), then stop accepting and drain"
            ),
        ),
    ] = 0.0
    readiness_timeout_seconds: Annotated[float, Meta(gt=0, description="time limit of each `/readyz` check")] = 2.0
    log_format: Annotated[Literal["text", "json"], Meta(description=("log lines as readable text or JSON objects"))] = (
        "text"
    )
    access_log: Annotated[bool, Meta(description="one line per request on the `opentoken.access` logger (INFO)")] = True
    metrics_token: Annotated[
        str | None, Meta(description=("bearer token for `GET /metrics` (default: the admin key, when set)"))
    ] = None
    metrics_port: Annotated[int | None, Meta(description=("serve `/metrics` on this port instead of the main one"))] = (
        None
    )
    metrics_host: Annotated[str | None, Meta(description=("interface for `metrics_port` (default: the main host)"))] = (
        None
    )

    def timeouts(self) -> Timeouts:
        return Timeouts(
            connect=self.connect_timeout_seconds,
            first_token=self.first_token_timeout_seconds,
            idle=self.idle_timeout_seconds,
            total=self.total_timeout_seconds,
        )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'opentoken.db').resolve()}"

    def resolved_workers(self) -> int:
        """How many processes ``serve`` runs: ``workers``, else one per core this process may run on (its CPU
        affinity, so ``taskset -c 0 opentoken serve`` is one process). One with ``memory://``, whose stores
        live in a process."""
        if self.resolved_database_url().strip() == "memory://":
            return 1
        if self.workers is not None:
            return self.workers
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        return len(cores) if cores else os.cpu_count() or 1
