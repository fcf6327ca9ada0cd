"""The collector configs (compose and Kubernetes) against a focused schema and start-up checks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from tests.deploy.collector_config import config_errors
from tests.deploy.deploy_helpers import (
    COLLECTOR_CONFIG,
    KUBERNETES_DIR,
    METRIC_LABELS,
    SPAN_CALLS,
    load_yaml,
    load_yaml_all,
)


def _configs() -> dict[str, Any]:
    configs = {"compose": load_yaml(COLLECTOR_CONFIG)}
    for path in sorted(KUBERNETES_DIR.glob("*.yaml")):
        for doc in load_yaml_all(path):
            if doc["kind"] == "ConfigMap":
                configs[f"k8s {doc['metadata']['name']}"] = yaml.safe_load(
                    doc["data"]["config.yaml"]
                )
    return configs


CONFIGS = _configs()


def test_all_three_configs_found() -> None:
    """The compose config, the Kubernetes agent's and the gateway's are all checked below."""
    assert set(CONFIGS) == {"compose", "k8s otel-agent", "k8s otel-gateway"}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_collector_config_is_valid(name: str) -> None:
    """Schema, defined-and-used components, connector wiring and ${env:NAME} all hold."""
    assert config_errors(CONFIGS[name]) == []


def test_validator_rejects_a_misspelt_field() -> None:
    """A typo in a component's settings fails (additionalProperties is closed)."""
    config = copy.deepcopy(CONFIGS["compose"])
    exporter = config["exporters"]["prometheus"]
    exporter["resource_to_telemetry_conversions"] = exporter.pop("resource_to_telemetry_conversion")
    errors = config_errors(config)
    assert len(errors) == 1
    assert "resource_to_telemetry_conversions" in errors[0]


def test_validator_rejects_an_undefined_or_unused_component() -> None:
    """A pipeline naming a processor nobody defined, or a processor no pipeline uses, fails."""
    config = copy.deepcopy(CONFIGS["compose"])
    config["service"]["pipelines"]["logs"]["processors"].append("batch/typo")
    assert config_errors(config) == ["pipeline logs: processor batch/typo is not defined"]
    config = copy.deepcopy(CONFIGS["compose"])
    config["service"]["pipelines"]["traces/crashes"]["processors"].remove("filter/crash_spans")
    assert config_errors(config) == [
        "processor filter/crash_spans is defined but no pipeline uses it"
    ]


def test_validator_rejects_a_connector_on_the_wrong_side() -> None:
    """The spanmetrics connector takes traces and gives metrics; the other way round fails."""
    config = copy.deepcopy(CONFIGS["compose"])
    pipelines = config["service"]["pipelines"]
    pipelines["metrics"]["receivers"].remove("spanmetrics")
    pipelines["logs"]["receivers"].append("spanmetrics")
    assert config_errors(config) == ["pipeline logs: connector spanmetrics cannot be receivers"]


@pytest.mark.parametrize("name", ["compose", "k8s otel-gateway"])
def test_span_metrics_labels_are_the_dashboards(name: str) -> None:
    """The optional span metric's dimensions become exactly the labels the README lists."""
    connector = CONFIGS[name]["connectors"]["spanmetrics"]
    assert connector["namespace"] == "traces.span.metrics"  # -> traces_span_metrics_calls_total
    assert connector["exemplars"]["enabled"] is True
    dimensions = {d["name"].replace(".", "_") for d in connector["dimensions"]}
    builtin = {"service_name", "span_name", "span_kind", "status_code"}
    assert dimensions | builtin == METRIC_LABELS[SPAN_CALLS]


@pytest.mark.parametrize("name", ["compose", "k8s otel-gateway"])
def test_metric_labels_come_from_resource_attributes(name: str) -> None:
    """Prometheus gets service_name and deployment_environment_name, and not pid or command line."""
    config = CONFIGS[name]
    assert config["exporters"]["prometheus"]["resource_to_telemetry_conversion"]["enabled"]
    [statement] = config["processors"]["transform/metric_labels"]["metric_statements"]
    assert statement["context"] == "resource"
    [keep] = statement["statements"]
    assert keep.startswith("keep_keys(attributes, [")
    for attribute in ("service.name", "deployment.environment.name", "service.instance.id"):
        assert f'"{attribute}"' in keep
    assert "transform/metric_labels" in config["service"]["pipelines"]["metrics"]["processors"]


@pytest.mark.parametrize("name", ["compose", "k8s otel-gateway"])
def test_only_crash_spans_feed_span_metrics(name: str) -> None:
    """The spanmetrics pipeline drops every span without a threadcrash.fingerprint."""
    config = CONFIGS[name]
    pipeline = config["service"]["pipelines"]["traces/crashes"]
    assert pipeline["exporters"] == ["spanmetrics"]
    assert "filter/crash_spans" in pipeline["processors"]
    span_filter = config["processors"]["filter/crash_spans"]["traces"]["span"]
    assert span_filter == ['attributes["threadcrash.fingerprint"] == nil']
