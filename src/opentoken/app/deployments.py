"""Composition of the deployments: each provider's default (its key and base URL, or the built-in sandbox
when it has no key) plus the ones configured in ``settings.deployments``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from opentoken.providers.base import Provider
from opentoken.routing.pool import DeploymentPool
from opentoken.settings import DeploymentConfig, Settings, env_value, provider_settings
from opentoken.upstream.client import Deployment

if TYPE_CHECKING:
    from opentoken_sandbox.config import SandboxConfig

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


def sandbox_config(settings: Settings) -> SandboxConfig:
    from opentoken_sandbox.config import SandboxConfig

    return SandboxConfig(control=settings.sandbox_control)


def sandboxed_providers(settings: Settings, providers: Mapping[str, Provider]) -> list[str]:
    """The providers served by the built-in sandbox: those without a key, unless ``sandbox`` says otherwise."""
    missing: list[str] = []
    for name, provider in providers.items():
        ps = provider_settings(name, provider.key_env_vars, base_url_vars=provider.base_url_env_vars)
        if (not ps.api_key or settings.sandbox is True) and settings.sandbox is not False:
            missing.append(name)
    return missing


async def deployment_pool(
    settings: Settings,
    providers: Mapping[str, Provider],
    stack: contextlib.AsyncExitStack,
    sandbox_url: str | None = None,
    banner: bool = True,
) -> DeploymentPool:
    """The default deployment of each provider (its key and base URL, or the sandbox), plus the configured ones.
    ``sandbox_url``: a sandbox already running (the supervisor's); otherwise one is started here if needed."""
    found: dict[str, Deployment] = {}
    missing = sandboxed_providers(settings, providers)
    for name, provider in providers.items():
        ps = provider_settings(name, provider.key_env_vars, base_url_vars=provider.base_url_env_vars)
        if ps.api_key and settings.sandbox is not True:
            base = ps.base_url or provider.default_base_url
            found[name] = Deployment(name=f"{name}-default", provider=provider, base_url=base, api_key=ps.api_key)
    if missing:  # the sandbox is imported only when it is used (it costs memory at idle otherwise)
        url = sandbox_url
        if url is None:
            from opentoken_sandbox.app import running_sandbox

            url = await stack.enter_async_context(running_sandbox(sandbox_config(settings)))
        if banner:
            _banner(missing, url)
        for name in missing:
            found[name] = Deployment(
                name=f"{name}-sandbox", provider=providers[name], base_url=url, api_key=SANDBOX_KEY, simulated=True
            )
    configured = [] if settings.sandbox is True else configured_deployments(settings.deployments, providers)
    return DeploymentPool(found, configured)
