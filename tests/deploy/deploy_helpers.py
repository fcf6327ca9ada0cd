"""Shared helpers of the deployment tests: paths, loaders and the inventory of every query.

The inventory (`dashboard_queries`, `datasource_queries`, `rule_queries`) is read from the
shipped files, so the static tests and the end-to-end test against a real Prometheus check
exactly what users deploy, and a panel added later is checked without touching the tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import promql_parser  # type: ignore[import-not-found, unused-ignore]
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
COLLECTOR_CONFIG = DEPLOY / "otel-collector" / "config.yaml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULES_FILE = DEPLOY / "prometheus" / "rules" / "threadcrash.yml"
RULE_TESTS_FILE = DEPLOY / "prometheus" / "tests" / "threadcrash_test.yml"
DATASOURCES_FILE = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml"
DASHBOARD_PROVIDERS_FILE = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
DASHBOARD_FILE = DEPLOY / "grafana" / "dashboards" / "threadcrash.json"
KUBERNETES_DIR = DEPLOY / "kubernetes"

# The contract in Prometheus form (DESIGN.md section 2): OTel Counter `threadcrash.crashes`
# unit `{crash}` and `threadcrash.suppressed`; the unit in braces adds no suffix.
CRASHES = "threadcrash_crashes_total"
SUPPRESSED = "threadcrash_suppressed_total"
# Made by the collector's spanmetrics connector from crash spans (deploy/otel-collector).
SPAN_CALLS = "traces_span_metrics_calls_total"

# Resource attributes turned into labels: by the collector (resource_to_telemetry_conversion)
# and, in a direct scrape, by PrometheusMetricReader(resource_attribute_filter=...).
RESOURCE_LABELS = frozenset({"service_name", "deployment_environment_name"})
METRIC_LABELS: dict[str, frozenset[str]] = {
    CRASHES: frozenset(
        {"error_type", "threadcrash_source", "threadcrash_thread_role", "threadcrash_fingerprint"}
    )
    | RESOURCE_LABELS,
    SUPPRESSED: frozenset({"error_type", "threadcrash_source"}) | RESOURCE_LABELS,
    SPAN_CALLS: frozenset(
        {
            "threadcrash_fingerprint",
            "exception_type",
            "threadcrash_source",
            "span_name",
            "span_kind",
            "status_code",
        }
    )
    | RESOURCE_LABELS,
}

PROMETHEUS_UID = "prometheus"
JAEGER_UID = "jaeger"


def load_yaml(path: Path) -> Any:
    """Parse one YAML document."""
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_all(path: Path) -> list[Any]:
    """Parse every document of a multi-document YAML file."""
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def load_dashboard() -> dict[str, Any]:
    """Load the shipped Grafana dashboard."""
    data: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    return data


def iter_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


@dataclass(frozen=True)
class Query:
    """One query users' Grafana or Prometheus runs, as written in the shipped files."""

    origin: str
    expr: str
    kind: Literal["promql", "label_values"] = "promql"
    # For label_values: the label whose values are listed (expr is then the series selector).
    label: str = ""

    @property
    def metrics(self) -> frozenset[str]:
        """Metric names the query reads."""
        return promql_names(substitute(self.expr))[0]


_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")


def dashboard_queries() -> list[Query]:
    """Every Prometheus query of the dashboard: panel targets and template variables."""
    dashboard = load_dashboard()
    queries = []
    for panel in iter_panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("datasource", panel.get("datasource", {})).get("uid") != PROMETHEUS_UID:
                continue
            origin = f"panel {panel['title']!r} {target['refId']}"
            queries.append(Query(origin=origin, expr=target["expr"]))
    for variable in dashboard["templating"]["list"]:
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = _LABEL_VALUES.match(text)
        assert match, f"variable {variable['name']}: expected label_values(...), got {text!r}"
        queries.append(
            Query(
                origin=f"variable ${variable['name']}",
                expr=match["selector"],
                kind="label_values",
                label=match["label"],
            )
        )
    return queries


def datasource_queries() -> list[Query]:
    """List the PromQL provisioned inside datasources (Jaeger's trace-to-metrics links)."""
    queries = []
    for ds in load_yaml(DATASOURCES_FILE)["datasources"]:
        for q in ds.get("jsonData", {}).get("tracesToMetrics", {}).get("queries", []):
            origin = f"datasource {ds['name']} link {q['name']!r}"
            queries.append(Query(origin=origin, expr=q["query"]))
    return queries


def rule_queries() -> list[Query]:
    """List the expression of every alerting and recording rule."""
    queries = []
    for group in load_yaml(RULES_FILE)["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            queries.append(Query(origin=f"rule {name}", expr=rule["expr"]))
    return queries


def all_queries() -> list[Query]:
    """Everything the dashboard, the datasources and the alert rules query."""
    return dashboard_queries() + datasource_queries() + rule_queries()


def substitute(
    expr: str,
    *,
    environment: str = "demo",
    service: str = "threadcrash-demo",
    rate_interval: str = "1m",
    range_: str = "5m",
    interval: str = "15s",
) -> str:
    """Replace Grafana's variables the way Grafana does for one selected value."""
    replacements = {
        "$__rate_interval": rate_interval,
        "$__interval": interval,
        "$__range": range_,
        "$__tags": f'service_name="{service}"',
        "${environment}": environment,
        "$environment": environment,
        "${service}": service,
        "$service": service,
    }
    for key in sorted(replacements, key=len, reverse=True):
        expr = expr.replace(key, replacements[key])
    assert "$" not in expr, f"unsubstituted variable in {expr!r}"
    return expr


def promql_names(expr: str) -> tuple[frozenset[str], frozenset[str]]:
    """Parse PromQL; return (metric names selected, label names used anywhere)."""
    ast = promql_parser.parse(expr)
    metrics: set[str] = set()
    labels: set[str] = set()

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                metrics.add(node.name)
            labels.update(m.name for m in node.matchers.matchers if m.name != "__name__")
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            labels.update(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            if node.modifier.matching is not None:
                labels.update(node.modifier.matching.labels)
            labels.update(node.modifier.group_labels or [])
        return True

    promql_parser.walk(ast, visit)
    return frozenset(metrics), frozenset(labels)


def require_tool(name: str) -> str:
    """The path of a binary from Debian's ``prometheus`` package.

    Skipped where it is missing on a developer's machine; under CI (``CI`` set, as ``.ci/run``
    runs), which installs it, a missing binary fails instead of silently skipping the check.
    """
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (apt-get install prometheus; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
