"""The ``opentoken`` command: serve, sandbox, and the admin commands (keys, usage, migrate)."""

from __future__ import annotations

import logging

import click

from opentoken.admin.cli_env import settings as checked_settings
from opentoken.settings import explain, unknown_settings


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """OpenToken: an OpenAI-compatible gateway for Anthropic Claude and Google Gemini."""
    ctx.ensure_object(dict)


@main.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1 or OPENTOKEN_HOST).")
@click.option("--port", default=None, type=int, help="Port (default 8000 or OPENTOKEN_PORT).")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(min=1),
    help="Processes answering on the port (default one per core, or OPENTOKEN_WORKERS).",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the gateway.

    On SIGTERM or Ctrl-C, GET /readyz answers 503 at once; the gateway keeps serving for
    OPENTOKEN_SHUTDOWN_DELAY_SECONDS (default 0) so load balancers stop sending, then stops accepting
    connections, lets requests and streams in flight finish for up to OPENTOKEN_DRAIN_SECONDS, writes the
    usage ledger out and exits 0.

    With several workers a supervisor process binds the port, migrates the database, keeps the rate-limit
    counters and relays key changes for the worker processes, replaces a worker that dies, and forwards
    the signal to every worker (each drains as above).
    """
    from opentoken.http.access import configure_logging

    overrides = {k: v for k, v in (("host", host), ("port", port), ("workers", workers)) if v is not None}
    settings = checked_settings(**overrides)
    memory = settings.resolved_database_url().strip() == "memory://"
    if memory and (settings.workers or 1) > 1:
        raise click.UsageError("memory:// keeps keys and the ledger in one process: it serves with one worker only")
    count = settings.resolved_workers()
    configure_logging(settings.log_level, settings.log_format)
    for problem in unknown_settings(known=provider_variables()):
        logging.getLogger("opentoken").warning("configuration: %s", problem)
    click.echo(
        f"opentoken gateway on http://{settings.host}:{settings.port}/v1 (database: "
        f"{settings.resolved_database_url().split('@')[-1]}"
        f"{f'; {count} workers' if count > 1 else ''})",
        err=True,
    )
    if count == 1:
        from opentoken.serving.run import run_server

        status = run_server(settings)
    else:
        from opentoken.serving.supervisor import supervise

        status = supervise(settings, count, host, port)
    if status:
        raise SystemExit(status)


def provider_variables() -> list[str]:
    """The variables the providers are configured by (credentials and base URLs)."""
    from opentoken.providers.registry import all_providers

    names = []
    for p in all_providers().values():
        names += [*p.key_env_vars, f"OPENTOKEN_{p.name.upper()}_BASE_URL", *p.base_url_env_vars]
    return names


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def config(as_json: bool) -> None:
    """Print the effective settings, where each came from (default, file, environment), secrets masked,
    and any OPENTOKEN_* variable or config-file key that is not a setting."""
    import json

    from opentoken.settings import env_value

    rows = explain(checked_settings())
    providers = [(v, "(set, hidden)" if "KEY" in v else env_value(v) or "") for v in provider_variables()]
    problems = unknown_settings(known=provider_variables())
    if as_json:
        out = {
            "settings": [{"name": r.name, "variable": r.variable, "value": r.value, "source": r.source} for r in rows],
            "providers": {v: value for v, value in providers if value},
            "problems": problems,
        }
        click.echo(json.dumps(out, indent=2))
        return
    width = max(len(r.variable) for r in rows)
    for r in rows:
        click.echo(f"{r.variable:<{width}}  {r.source:<12}  {r.value}")
    for variable, value in providers:
        if value:
            click.echo(f"{variable:<{width}}  {'environment':<12}  {value}")
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, type=int, show_default=True)
@click.option("--latency-ms", default=0.0, type=float, show_default=True, help="Delay before the first byte.")
@click.option("--tokens-per-second", default=0.0, type=float, show_default=True, help="Stream pacing (0 = none).")
def sandbox(host: str, port: int, latency_ms: float, tokens_per_second: float) -> None:
    """Run the simulated Anthropic and Gemini APIs (for tests, benchmarks and trying things out)."""
    from opentoken_sandbox.app import serve as serve_sandbox
    from opentoken_sandbox.config import SandboxConfig

    serve_sandbox(host, port, SandboxConfig(latency_ms=latency_ms, tokens_per_second=tokens_per_second))


def _register_admin() -> None:
    from opentoken.admin.cli import register_commands

    register_commands(main)


_register_admin()
