"""The Grafana provisioning and dashboard: datasources exist, names are the library's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.deploy_helpers import (
    COMPOSE_FILE,
    CRASHES,
    DASHBOARD_PROVIDERS_FILE,
    DATASOURCES_FILE,
    JAEGER_UID,
    METRIC_LABELS,
    PROMETHEUS_UID,
    SUPPRESSED,
    Query,
    all_queries,
    iter_panels,
    load_dashboard,
    load_yaml,
    promql_names,
    substitute,
)


def _datasources() -> dict[str, dict[str, Any]]:
    return {ds["uid"]: ds for ds in load_yaml(DATASOURCES_FILE)["datasources"]}


def _panels() -> list[dict[str, Any]]:
    return list(iter_panels(load_dashboard()))


def test_every_panel_datasource_is_provisioned() -> None:
    """Each panel, target and variable names a datasource uid and type that provisioning creates."""
    datasources = _datasources()
    dashboard = load_dashboard()
    refs = [(v["name"], v["datasource"]) for v in dashboard["templating"]["list"]]
    for panel in _panels():
        if panel["type"] in {"text", "row"}:
            continue
        refs.append((panel["title"], panel["datasource"]))
        for target in panel["targets"]:
            refs.append((panel["title"], target.get("datasource", panel["datasource"])))
    assert len(refs) > 10
    for where, ref in refs:
        assert ref["uid"] in datasources, f"{where}: datasource uid {ref['uid']!r} not provisioned"
        assert ref["type"] == datasources[ref["uid"]]["type"], where


def test_datasources_link_exemplars_and_traces() -> None:
    """Prometheus exemplars carry trace_id into Jaeger, and Jaeger links back to Prometheus."""
    datasources = _datasources()
    assert datasources[PROMETHEUS_UID]["type"] == "prometheus"
    assert datasources[JAEGER_UID]["type"] == "jaeger"
    destinations = datasources[PROMETHEUS_UID]["jsonData"]["exemplarTraceIdDestinations"]
    # The collector's Prometheus exporter names the exemplar label trace_id.
    first = {k: destinations[0][k] for k in ("name", "datasourceUid")}
    assert first == {"name": "trace_id", "datasourceUid": JAEGER_UID}
    t2m = datasources[JAEGER_UID]["jsonData"]["tracesToMetrics"]
    assert t2m["datasourceUid"] == PROMETHEUS_UID
    assert {"key": "service.name", "value": "service_name"} in t2m["tags"]


def test_dashboard_provider_path_matches_compose_mount() -> None:
    """The provisioning provider reads the folder docker-compose.yml mounts the dashboards into."""
    provider = load_yaml(DASHBOARD_PROVIDERS_FILE)["providers"][0]
    compose = load_yaml(COMPOSE_FILE)
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts


@pytest.mark.parametrize("query", all_queries(), ids=lambda q: q.origin)
def test_query_uses_only_emitted_metric_and_label_names(query: Query) -> None:
    """Each query parses as PromQL and names only metrics and labels the stack really emits."""
    expr = substitute(query.expr)
    metrics, labels = promql_names(expr)
    if query.kind == "label_values":
        labels |= {query.label}
    assert metrics, f"{query.origin} selects no metric"
    assert metrics <= set(METRIC_LABELS), f"{query.origin}: unknown metric(s) {metrics}"
    allowed = frozenset().union(*(METRIC_LABELS[m] for m in metrics))
    assert labels <= allowed, f"{query.origin}: label(s) {sorted(labels - allowed)} not emitted"


def test_label_check_rejects_a_misspelt_label() -> None:
    """The name check above catches a typo such as `error_typ` (so it is not vacuous)."""
    metrics, labels = promql_names(f"sum by (error_typ) (rate({CRASHES}[1m]))")
    assert metrics == {CRASHES}
    assert not labels <= METRIC_LABELS[CRASHES]


def test_dashboard_covers_the_issue() -> None:
    """Rates (total, per service/type/source), crash groups, suppressed, Jaeger, exemplars."""
    panels = _panels()
    exprs = [t.get("expr", "") for p in panels for t in p.get("targets", [])]
    grouped = {
        label
        for e in exprs
        for label in ("service_name", "error_type", "threadcrash_source", "threadcrash_fingerprint")
        if f"by ({label}" in e
    }
    wanted = {"service_name", "error_type", "threadcrash_source", "threadcrash_fingerprint"}
    assert grouped == wanted
    assert any(e.startswith(f"sum(rate({CRASHES}") for e in exprs), "no total crash rate"
    assert any(SUPPRESSED in e for e in exprs), "no suppressed panel"
    groups = [
        p
        for p in panels
        if p["type"] == "table"
        and any("threadcrash_fingerprint" in t.get("expr", "") for t in p["targets"])
    ]
    assert groups, "no crash groups table"
    assert all(CRASHES in t["expr"] for t in groups[0]["targets"]), "not from the counter"
    assert any(t.get("exemplar") for p in panels for t in p.get("targets", [])), "no exemplars"
    jaeger = [p for p in panels if p.get("datasource", {}).get("uid") == JAEGER_UID]
    assert jaeger, "no recent-crashes table from Jaeger"
    assert jaeger[0]["type"] == "table"
    assert jaeger[0]["targets"][0]["service"] == "$service"
    assert jaeger[0]["repeat"] == "service", "one table per selected service (Jaeger needs one)"


def test_template_variables_for_service_and_environment() -> None:
    """The dashboard has $environment and $service, and panels filter on them."""
    dashboard = load_dashboard()
    names = [v["name"] for v in dashboard["templating"]["list"]]
    assert names == ["environment", "service"]
    filtered = [
        t["expr"]
        for p in _panels()
        for t in p.get("targets", [])
        if "expr" in t and 'service_name=~"$service"' in t["expr"]
    ]
    assert len(filtered) >= 8
    assert all('deployment_environment_name=~"$environment"' in e for e in filtered)


def test_panel_ids_unique_and_grid_inside_24_columns() -> None:
    """Grafana needs unique panel ids; every panel fits the 24-column grid."""
    panels = _panels()
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for p in panels:
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24, p["title"]
        assert grid["h"] > 0, p["title"]
    assert load_dashboard()["uid"] == "threadcrash"
