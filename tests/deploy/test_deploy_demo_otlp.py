"""The demo service as docker-compose.yml runs it, exporting OTLP to a stand-in collector.

The environment is the `demo` service's own, read from docker-compose.yml, with only the
collector's address replaced by a local OTLP/HTTP receiver (tests/otlp_receiver.py, which
decodes the real protobufs). What arrives must be what the collector config and the dashboard
rely on: crash spans with the attributes spanmetrics groups on, the resource attributes that
become the service_name / deployment_environment_name labels, the counter with exemplars
pointing at the crash spans, and the `exception` log records.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.deploy.deploy_helpers import COLLECTOR_CONFIG, COMPOSE_FILE, REPO, load_yaml
from tests.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow
CRASHES = 4


@pytest.fixture(scope="module")
def received() -> Any:
    """Run `threadcrash demo --crashes 4 --interval 0` with the compose env; collect the OTLP."""
    compose_env: dict[str, str] = load_yaml(COMPOSE_FILE)["services"]["demo"]["environment"]
    with OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "THREADCRASH_"))}
        env.update({k: v for k, v in compose_env.items() if k.startswith("OTEL_")})
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        env["OTEL_METRIC_EXPORT_INTERVAL"] = "200"
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
        command = [sys.executable, "-m", "threadcrash", "demo", "--crashes", str(CRASHES)]
        result = subprocess.run(
            [*command, "--interval", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        receiver.wait_for(lambda r: r.metric_total("threadcrash.crashes") >= CRASHES, timeout=10)
        assert receiver.errors == []
        yield receiver, compose_env


def test_crash_spans_carry_what_the_collector_keeps_and_groups_on(received: Any) -> None:
    """Every crash span has threadcrash.fingerprint and each spanmetrics span dimension."""
    receiver, _ = received
    spans = receiver.spans("threadcrash.crash")
    assert len(spans) == CRASHES
    connector = load_yaml(COLLECTOR_CONFIG)["connectors"]["spanmetrics"]
    dimensions = [d["name"] for d in connector["dimensions"]]
    for span in spans:
        assert span["attributes"]["threadcrash.fingerprint"]
        for dimension in dimensions:
            assert dimension in span["attributes"] or dimension in span["resource"], dimension


def test_resource_is_what_the_dashboard_selects(received: Any) -> None:
    """service.name and deployment.environment.name arrive as compose sets them (demo picks)."""
    receiver, compose_env = received
    environment = compose_env["OTEL_RESOURCE_ATTRIBUTES"].split("=", 1)[1]
    for item in receiver.spans("threadcrash.crash") + receiver.metric_points("threadcrash.crashes"):
        assert item["resource"]["service.name"] == compose_env["OTEL_SERVICE_NAME"]
        assert item["resource"]["deployment.environment.name"] == environment


def test_counter_is_exact_and_its_exemplars_open_crash_spans(received: Any) -> None:
    """threadcrash.crashes counts each crash once, and its exemplars are crash span ids."""
    receiver, _ = received
    assert receiver.metric_total("threadcrash.crashes") == CRASHES
    points = receiver.metric_points("threadcrash.crashes")
    assert {p["unit"] for p in points} == {"{crash}"}
    span_ids = {(s["trace_id"], s["span_id"]) for s in receiver.spans("threadcrash.crash")}
    exemplars = {(e["trace_id"], e["span_id"]) for p in points for e in p["exemplars"]}
    assert exemplars
    assert exemplars <= span_ids


def test_log_records_reach_the_collector(received: Any) -> None:
    """One `exception` log record per crash, in the trace of its crash span."""
    receiver, _ = received
    logs = receiver.logs("exception")
    assert len(logs) == CRASHES
    span_traces = {s["trace_id"] for s in receiver.spans("threadcrash.crash")}
    assert {log["trace_id"] for log in logs} == span_traces
