"""deploy/ validates offline: the Kubernetes manifests against the Kubernetes schemas
(kubernetes-validate ships them), the config map against mockllm's own config parser, and
the Dockerfile has what docs/deploy.md promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from mockllm.config import parse

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


def _docs() -> list[dict[str, Any]]:
    yaml = YAML(typ="safe")
    return [d for path in MANIFESTS for d in yaml.load_all(path.read_text()) if d]


def _one(kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in _docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_validates_against_the_kubernetes_schemas(path: Path) -> None:
    yaml = YAML(typ="safe")
    docs = [d for d in yaml.load_all(path.read_text()) if d]
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_a_broken_manifest_is_refused() -> None:
    bad = _one("Deployment", "mockllm")
    bad["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, kubernetes_validate.latest_version(), strict=True)


def test_the_deployment_is_replicated_ready_on_health_and_scraped() -> None:
    dep = _one("Deployment", "mockllm")
    assert dep["spec"]["replicas"] >= 2
    pod = dep["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"prometheus.io/scrape": "true",
                                             "prometheus.io/port": "8000",
                                             "prometheus.io/path": "/metrics"}
    [c] = pod["spec"]["containers"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    service = _one("Service", "mockllm")
    assert service["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]


def test_the_config_map_is_a_valid_config_sharing_state_through_the_redis_service() -> None:
    data = _one("ConfigMap", "mockllm-config")["data"]["mockllm.yaml"]
    config = parse(data, "configmap.yaml")
    redis = _one("Service", "mockllm-redis")
    port = redis["spec"]["ports"][0]["port"]
    assert config.server.state == f"redis://{redis['metadata']['name']}:{port}/0"
    dep = _one("Deployment", "mockllm")
    [c] = dep["spec"]["template"]["spec"]["containers"]
    assert c["args"][:3] == ["serve", "--config", "/etc/mockllm/mockllm.yaml"]


def test_the_dockerfile_is_slim_non_root_and_checks_health() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip()
             and not line.startswith("#")]
    assert lines[0].startswith("FROM python:3.11-slim")
    assert any(line.startswith("USER ") and "root" not in line for line in lines)
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    assert "/health" in text and "EXPOSE 8000" in lines
