"""The deployment files, validated statically (there is no container engine or cluster here): hadolint for the
Dockerfile, the Compose specification's JSON schema for compose.yaml, ``haproxy -c`` for its load balancer,
the Kubernetes OpenAPI schemas (``kubernetes-validate --strict``) for the manifests; then what the schemas
cannot know: the manifests agree with each other and with the gateway's own settings and routes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from opentoken.settings import setting_fields

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def tool(name: str) -> str:
    """A validator installed with the dev dependencies (next to this Python) or from the OS packages."""
    found = shutil.which(name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        if CI:
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return found


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def known_variable(name: str) -> bool:
    """An environment variable the gateway (or the OpenTelemetry SDK, or a provider) reads."""
    if name.startswith("OPENTOKEN_"):
        return name.removeprefix("OPENTOKEN_").lower() in {f.name for f in setting_fields()}
    return name.startswith("OTEL_") or name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")


# ---- Dockerfile ---------------------------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    done = run(tool("hadolint"), "--failure-threshold", "style", str(ROOT / "Dockerfile"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_fail_on_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    assert run(tool("hadolint"), "--failure-threshold", "style", str(bad)).returncode != 0


def test_dockerfile_is_multi_stage_locked_non_root_with_a_health_check() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 3 and stages[-1].endswith("AS runtime")
    assert any("uv sync --frozen --no-dev --no-install-project" in line for line in lines)
    assert any("uv sync --frozen --no-dev --no-editable" in line for line in lines)
    user = next(line for line in lines if line.startswith("USER "))
    assert user.split()[1].split(":")[0] not in ("0", "root")
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    health = " ".join(lines[lines.index(next(line for line in lines if line.startswith("HEALTHCHECK "))) :][:2])
    assert "/healthz" in health
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored and "!uv.lock" in ignored and "!src/" in ignored


# ---- Compose ------------------------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification() -> None:
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(ROOT / "compose.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_schema_check_does_fail_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  gateway:\n    image: x\n    depends_on: {migrate: {condition: sometime}}\n")
    assert run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(bad)).returncode != 0


def test_compose_runs_replicas_behind_a_balancer_after_the_migration() -> None:
    services = load(ROOT / "compose.yaml")["services"]
    assert {"postgres", "redis", "migrate", "gateway", "lb"} <= set(services)
    gateway, migrate = services["gateway"], services["migrate"]
    assert gateway["deploy"]["replicas"] == "${OPENTOKEN_REPLICAS:-3}"
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(gateway["healthcheck"]["test"])
    assert all("healthcheck" in services[s] for s in ("postgres", "redis"))
    env = gateway["environment"]
    assert env["OPENTOKEN_DATABASE_URL"].startswith("postgresql://") and env["OPENTOKEN_REDIS_URL"].startswith(
        "redis://"
    )
    assert all(known_variable(name) for name in env), [n for n in env if not known_variable(n)]
    assert any("haproxy.cfg" in volume for volume in services["lb"]["volumes"])


def test_compose_balancer_config_is_valid_and_checks_readyz() -> None:
    cfg = ROOT / "deploy" / "compose" / "haproxy.cfg"
    done = run(tool("haproxy"), "-c", "-f", str(cfg))
    assert done.returncode == 0, done.stdout + done.stderr
    text = cfg.read_text()
    assert "option httpchk GET /readyz" in text and "server-template gateway" in text


# ---- Kubernetes ---------------------------------------------------------------------------------------------


def test_manifests_match_the_kubernetes_schemas() -> None:
    done = run(tool("kubernetes-validate"), "--strict", "--quiet", *map(str, MANIFESTS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_validator_does_fail_on_a_bad_manifest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((K8S / "deployment.yaml").read_text().replace("readinessProbe:", "readinesProbe:"))
    assert run(tool("kubernetes-validate"), "--strict", "--quiet", str(bad)).returncode != 0


def test_manifests_fit_together() -> None:
    docs = {load(p)["kind"]: load(p) for p in MANIFESTS}
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Job",
        "ConfigMap",
        "Secret",
    } <= set(docs)
    kustomized = load(K8S / "kustomization.yaml")["resources"]
    assert sorted(kustomized) == sorted(p.name for p in MANIFESTS if p.name != "secret.example.yaml")

    deployment = docs["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for kind in ("Service", "PodDisruptionBudget"):
        selector = docs[kind]["spec"]["selector"]
        assert (selector.get("matchLabels") or selector).items() <= labels.items(), kind
    assert docs["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    target = docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    (metric,) = docs["HorizontalPodAutoscaler"]["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"

    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["cpu"]  # the HPA needs a CPU request
    secret_name = docs["Secret"]["metadata"]["name"]
    assert {"secretRef": {"name": secret_name}} in container["envFrom"]
    config = docs["ConfigMap"]["data"]
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > float(config["OPENTOKEN_SHUTDOWN_DELAY_SECONDS"]) + float(config["OPENTOKEN_DRAIN_SECONDS"])
    assert all(known_variable(name) for name in [*config, *docs["Secret"]["stringData"]])

    (migrate,) = docs["Job"]["spec"]["template"]["spec"]["containers"]
    assert migrate["args"] == ["migrate"] and migrate["image"] == container["image"]
    assert migrate["env"][0]["valueFrom"]["secretKeyRef"]["name"] == secret_name
    for pod in (deployment["spec"]["template"]["spec"], docs["Job"]["spec"]["template"]["spec"]):
        assert pod["securityContext"]["runAsNonRoot"] is True
