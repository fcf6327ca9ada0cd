"""Kubernetes manifests: the API schemas, and the agent -> gateway wiring.

The schemas are Kubernetes' own OpenAPI-derived JSON schemas bundled in the
kubernetes-validate package (strict: unknown fields fail). No cluster runs here.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.collector_config import env_references
from tests.deploy.deploy_helpers import (
    COMPOSE_FILE,
    KUBERNETES_DIR,
    load_yaml,
    load_yaml_all,
)

# Oldest and newest Kubernetes minor versions whose schemas the manifests are checked against.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
DOCS: list[dict[str, Any]] = [
    doc for path in sorted(KUBERNETES_DIR.glob("*.yaml")) for doc in load_yaml_all(path)
]


def _one(kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in DOCS if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def _config(name: str) -> Any:
    return yaml.safe_load(_one("ConfigMap", name)["data"]["config.yaml"])


def _container(kind: str, name: str) -> dict[str, Any]:
    containers: list[dict[str, Any]] = _one(kind, name)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _id(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("doc", DOCS, ids=_id)
def test_manifest_matches_kubernetes_schema(doc: dict[str, Any], version: str) -> None:
    """Each manifest validates, strictly, against the Kubernetes API schema."""
    kubernetes_validate.validate(doc, version, strict=True)


def test_schema_check_rejects_an_unknown_field() -> None:
    """A misspelt field (`hostPorts`) fails the same strict validation."""
    daemonset = copy.deepcopy(_one("DaemonSet", "otel-agent"))
    port = daemonset["spec"]["template"]["spec"]["containers"][0]["ports"][0]
    port["hostPorts"] = port.pop("hostPort")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(daemonset, KUBERNETES_VERSIONS[-1], strict=True)


def test_agent_daemonset_forwards_to_the_gateway_headless_service() -> None:
    """Agents resolve the gateway pods through a headless Service that exists and selects them."""
    resolver = _config("otel-agent")["exporters"]["loadbalancing"]["resolver"]["dns"]
    name, namespace, *_ = resolver["hostname"].split(".")
    service = _one("Service", name)
    assert service["metadata"]["namespace"] == namespace
    assert service["spec"]["clusterIP"] == "None"
    assert int(resolver["port"]) in {p["port"] for p in service["spec"]["ports"]}
    gateway = _one("Deployment", "otel-gateway")
    labels = gateway["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    gateway_receiver = _config("otel-gateway")["receivers"]["otlp"]["protocols"]["grpc"]
    assert gateway_receiver["endpoint"].endswith(f":{resolver['port']}")


def test_agent_routes_by_service_so_counters_are_not_double_counted() -> None:
    """All signals of one service reach one gateway replica, which alone exports its counters."""
    agent = _config("otel-agent")
    assert agent["exporters"]["loadbalancing"]["routing_key"] == "service"
    for pipeline in agent["service"]["pipelines"].values():
        assert pipeline["exporters"] == ["loadbalancing"]
    assert _one("DaemonSet", "otel-agent")["kind"] == "DaemonSet"


def test_agent_listens_on_every_node() -> None:
    """The DaemonSet publishes OTLP 4317/4318 as host ports, for apps to send to their node."""
    ports = {
        p["containerPort"]: p.get("hostPort")
        for p in _container("DaemonSet", "otel-agent")["ports"]
    }
    assert ports[4317] == 4317
    assert ports[4318] == 4318


@pytest.mark.parametrize(
    ("kind", "name"), [("DaemonSet", "otel-agent"), ("Deployment", "otel-gateway")]
)
def test_workload_runs_its_config(kind: str, name: str) -> None:
    """It mounts its ConfigMap, defines the env it reads, probes health_check, pins the image."""
    workload = _one(kind, name)
    spec = workload["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    container = _container(kind, name)
    [volume] = spec["template"]["spec"]["volumes"]
    assert volume["configMap"]["name"] == name
    _one("ConfigMap", name)
    [mount] = container["volumeMounts"]
    assert mount["name"] == volume["name"]
    assert container["args"] == [f"--config={mount['mountPath']}/config.yaml"]

    config = _config(name)
    defined = {e["name"] for e in container["env"]}
    assert env_references(config) <= defined

    health_port = int(config["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1])
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        assert named[container[probe]["httpGet"]["port"]] == health_port

    compose_image = load_yaml(COMPOSE_FILE)["services"]["otel-collector"]["image"]
    assert container["image"] == compose_image
    assert "limits" in container["resources"]
