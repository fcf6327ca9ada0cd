"""The dashboard is code: the committed JSON is the generator's output and Grafana's SDK reads it.

The generator (tests/deploy/grafana_dashboard.py) uses Grafana's Foundation SDK, which needs
Python 3.11; on 3.10 these tests are skipped (the other dashboard tests still run there).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import pytest

pytest.importorskip("grafana_foundation_sdk", reason="grafana-foundation-sdk needs Python 3.11")

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import prometheus, stat, table, text, timeseries
from grafana_foundation_sdk.models.dashboard import (
    Dashboard,
    DashboardLink,
    DataTransformerConfig,
    Panel,
)

from tests.deploy import grafana_dashboard
from tests.deploy.deploy_helpers import (
    CRASHES,
    DASHBOARD_FILE,
    DATASOURCES_FILE,
    JAEGER_UID,
    load_dashboard,
    load_yaml,
    promql_names,
    substitute,
)

OPTIONS = {
    "stat": stat.Options,
    "table": table.Options,
    "text": text.Options,
    "timeseries": timeseries.Options,
}


def _model() -> Dashboard:
    plugins.register_default_plugins()
    return Dashboard.from_json(load_dashboard())


def _as_json(value: object) -> Any:
    return json.loads(json.dumps(value, cls=JSONEncoder))


def _groups_table() -> dict[str, Any]:
    panel: dict[str, Any]
    [panel] = [
        p
        for p in load_dashboard()["panels"]
        if p["type"] == "table" and p["datasource"]["type"] == "prometheus"
    ]
    return panel


def _override(panel: dict[str, Any], name: str) -> dict[str, Any]:
    [override] = [o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == name]
    return {p["id"]: p["value"] for p in override["properties"]}


def test_the_committed_dashboard_is_what_the_generator_writes() -> None:
    """deploy/grafana/dashboards/threadcrash.json is regenerated from code with no difference."""
    committed = DASHBOARD_FILE.read_text(encoding="utf-8")
    assert grafana_dashboard.render() == committed, (
        "the dashboard JSON was edited by hand or the generator changed: "
        "run `python -m tests.deploy.grafana_dashboard` and commit the result"
    )


def test_the_committed_dashboard_parses_back_through_the_sdk_models() -> None:
    """Grafana's own models read every panel, query and option, and write back the same JSON."""
    model = _model()
    assert _as_json(model) == load_dashboard(), "a field the SDK's models do not know"
    assert model.panels is not None
    for panel in model.panels:
        assert isinstance(panel, Panel)
        assert isinstance(panel.options, OPTIONS[panel.type_val]), panel.title
        for target in panel.targets or []:
            if panel.datasource is not None and panel.datasource.type_val == "jaeger":
                # The SDK has no Jaeger model: kept as a bag, checked by test_deploy_dashboard.
                assert isinstance(target, UnknownDataquery)
            else:
                assert isinstance(target, prometheus.Dataquery), panel.title


def test_the_parse_back_notices_a_field_grafana_does_not_know() -> None:
    """A misspelt option (`exemplr` for `exemplar`) does not survive the SDK's models."""
    plugins.register_default_plugins()
    data = load_dashboard()
    target = _groups_table()["targets"][0]
    [panel] = [p for p in data["panels"] if p.get("targets") and p["targets"][0] == target]
    panel["targets"][0]["exemplr"] = True
    assert _as_json(Dashboard.from_json(data)) != data


def test_transformations_and_links_parse_through_the_sdk_models() -> None:
    """The SDK keeps transformations and data links as plain data: parse them with its models."""
    panel = _groups_table()
    for raw in panel["transformations"]:
        assert _as_json(DataTransformerConfig.from_json(raw)) == raw
    for override in panel["fieldConfig"]["overrides"]:
        for prop in override["properties"]:
            if prop["id"] == "links":
                for raw in prop["value"]:
                    assert _as_json(DashboardLink.from_json(raw)) == raw


def test_the_groups_table_columns_come_from_its_queries() -> None:
    """Merge joins A, B, C on the same labels; organize names only fields those queries make."""
    panel = _groups_table()
    targets = {t["refId"]: t for t in panel["targets"]}
    assert sorted(targets) == ["A", "B", "C"]
    group_labels = set(grafana_dashboard.GROUP)
    for target in targets.values():
        assert target["format"] == "table"
        assert target["instant"] is True
        by = re.match(r"^(?:sum|min|max) by \(([^)]*)\)", target["expr"])
        assert by is not None, target["expr"]
        assert {name.strip() for name in by[1].split(",")} == group_labels
    fields = group_labels | {f"Value #{ref}" for ref in targets} | {"Time"}
    merge, organize = panel["transformations"]
    assert merge == {"id": "merge", "options": {}}
    assert organize["id"] == "organize"
    options = organize["options"]
    assert set(options["renameByName"]) == fields - {"Time"}
    assert set(options["indexByName"]) == set(options["renameByName"])
    assert options["excludeByName"] == {"Time": True}
    headers = set(options["renameByName"].values())
    assert {o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]} <= headers
    assert {s["displayName"] for s in panel["options"]["sortBy"]} <= headers
    assert headers == {
        "fingerprint",
        "exception type",
        "source",
        "service",
        "first seen",
        "last seen",
        "crashes in range",
    }
    for column in ("first seen", "last seen"):
        assert _override(panel, column)["unit"] == "dateTimeAsIso"  # the queries give ms


def test_the_fingerprint_links_to_a_jaeger_search_for_that_group() -> None:
    """Clicking a fingerprint opens Explore on the provisioned Jaeger, searching that tag."""
    panel = _groups_table()
    [link] = _override(panel, "fingerprint")["links"]
    rename = panel["transformations"][1]["options"]["renameByName"]
    url = urllib.parse.urlsplit(link["url"])
    assert url.path == "/explore"  # relative: the Grafana the dashboard is in
    params = urllib.parse.parse_qs(url.query, strict_parsing=True)
    assert params["schemaVersion"] == ["1"]
    [panes_text] = params["panes"]
    variables = set(re.findall(r"\$\{([^}]+)\}", panes_text))
    assert variables == {"__data.fields.service_name", "__value.raw", "__from", "__to"}
    assert "service_name" in rename  # the field the link reads is a column of the table
    # As Grafana fills them in for one row:
    filled = (
        panes_text.replace("${__data.fields.service_name}", "checkout")
        .replace("${__value.raw}", "9aabe9de149008c1")
        .replace("${__from}", "1700000000000")
        .replace("${__to}", "1700000600000")
    )
    [pane] = json.loads(filled).values()
    datasources = {ds["uid"]: ds for ds in load_yaml(DATASOURCES_FILE)["datasources"]}
    assert pane["datasource"] == JAEGER_UID
    assert datasources[JAEGER_UID]["type"] == "jaeger"
    [query] = pane["queries"]
    assert query["datasource"] == {"type": "jaeger", "uid": JAEGER_UID}
    assert query["queryType"] == "search"
    assert query["service"] == "checkout"
    assert query["tags"] == "threadcrash.fingerprint=9aabe9de149008c1"
    assert pane["range"] == {"from": "1700000000000", "to": "1700000600000"}


def test_the_generator_takes_names_from_the_library() -> None:
    """Metric and label names come from threadcrash's constants; an unknown attribute is refused."""
    assert grafana_dashboard.CRASHES == CRASHES  # the contract, as tests/deploy writes it
    assert grafana_dashboard.FINGERPRINT == "threadcrash_fingerprint"
    with pytest.raises(ValueError, match="not an attribute"):
        grafana_dashboard.label("exception.message")
    exprs = [
        substitute(t["expr"])
        for p in load_dashboard()["panels"]
        for t in p.get("targets", [])
        if "expr" in t
    ]
    assert {m for e in exprs for m in promql_names(e)[0]} == {
        grafana_dashboard.CRASHES,
        grafana_dashboard.SUPPRESSED,
    }
