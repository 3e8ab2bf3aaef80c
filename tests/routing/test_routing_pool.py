"""Deployments: configuration, which ones serve a model, weighted order, preference for the less busy."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from opentoken.app.deployments import DeploymentConfigError, configured_deployments
from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import ModelNotFound
from opentoken.providers.registry import all_providers
from opentoken.routing.pool import DeploymentPool
from opentoken.settings import DeploymentConfig, load_settings
from opentoken.upstream.client import Deployment
from support.catalog import entry

CATALOG = load_catalog()
PROVIDERS = all_providers()
SONNET = entry(CATALOG, "anthropic/claude-sonnet-4-5")
HAIKU = CATALOG.resolve("anthropic/claude-haiku-4-5")
FLASH = CATALOG.resolve("google/gemini-3-flash")


def dep(name: str, weight: float = 1.0, models: tuple[str, ...] = (), provider: str = "anthropic") -> Deployment:
    return Deployment(name, PROVIDERS[provider], f"http://{name}", "k", weight, models)


def test_configured_deployments_resolve_keys_and_defaults() -> None:
    configs = [
        DeploymentConfig(provider="anthropic", api_key_env="EU_KEY", base_url="http://eu", weight=3, models=["*"]),
        DeploymentConfig(provider="google", name="gem"),
    ]
    env = {"EU_KEY": "sk-eu", "GEMINI_API_KEY": "g-key"}
    eu, gem = configured_deployments(configs, PROVIDERS, env)
    assert (eu.name, eu.base_url, eu.api_key, eu.weight, eu.models) == ("anthropic-1", "http://eu", "sk-eu", 3, ("*",))
    assert (gem.name, gem.base_url, gem.api_key) == ("gem", PROVIDERS["google"].default_base_url, "g-key")


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        ([DeploymentConfig(provider="openai")], "unknown provider"),
        ([DeploymentConfig(provider="anthropic", api_key_env="NOPE")], "no API key in NOPE"),
        (
            [
                DeploymentConfig(provider="anthropic", name="x", api_key_env="K"),
                DeploymentConfig(provider="anthropic", name="x", api_key_env="K"),
            ],
            "unique",
        ),
    ],
)
def test_bad_configuration_is_refused_at_start(configs: list[DeploymentConfig], message: str) -> None:
    with pytest.raises(DeploymentConfigError, match=message):
        configured_deployments(configs, PROVIDERS, {"K": "v"})


def test_settings_read_deployments_from_env_json_and_config_toml(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OPENTOKEN_DEPLOYMENTS", '[{"provider": "anthropic", "weight": 2, "models": ["anthropic/*"]}]')
    assert load_settings().deployments[0].weight == 2
    monkeypatch.delenv("OPENTOKEN_DEPLOYMENTS")
    config = tmp_path / "opentoken.toml"
    config.write_text('total_timeout_seconds = 7\n[[deployments]]\nprovider = "google"\nname = "g2"\n')
    monkeypatch.setenv("OPENTOKEN_CONFIG", str(config))
    settings = load_settings()
    assert [d.name for d in settings.deployments] == ["g2"] and settings.timeouts().total == 7


def test_serving_matches_patterns_and_falls_through_to_the_default() -> None:
    default = dep("anthropic-default")
    sonnets = dep("sonnets", models=("anthropic/claude-sonnet-*",))
    pool = DeploymentPool({"anthropic": default}, [sonnets, dep("gem", provider="google")])
    assert pool.serving(SONNET) == [sonnets]
    assert pool.serving(HAIKU) == [default]
    assert [d.name for d in pool.serving(FLASH)] == ["gem"]
    with pytest.raises(ModelNotFound):
        DeploymentPool({}, [sonnets]).serving(HAIKU)


def test_order_follows_the_weights() -> None:
    heavy, light = dep("heavy", weight=3), dep("light", weight=1)
    pool = DeploymentPool({}, [heavy, light], rng=random.Random(11))
    firsts = Counter(pool.order([heavy, light])[0].name for _ in range(4000))
    assert 0.72 < firsts["heavy"] / 4000 < 0.78  # 3 / (3 + 1)


def test_busy_deployments_move_back() -> None:
    a, b = dep("a"), dep("b")
    pool = DeploymentPool({}, [a, b], rng=random.Random(5))
    leases = [pool.acquire(a) for _ in range(4)]
    assert pool.busy(a) == 4
    firsts = Counter(pool.order([a, b])[0].name for _ in range(4000))
    assert firsts["b"] / 4000 > 0.75  # a counts 1/5 against b's 1
    for lease in leases:
        lease.release()
    assert pool.busy(a) == 0
    firsts = Counter(pool.order([a, b])[0].name for _ in range(4000))
    assert 0.45 < firsts["b"] / 4000 < 0.55
