"""End to end: a real Prometheus scrapes a process using threadcrash; every shipped query runs.

The child (e2e_child.py) calls `threadcrash.instrument(meter_provider=...)` with OTel's
Prometheus exporter and crashes real threads. Debian's `prometheus` binary scrapes it every
second on 127.0.0.1, loads the shipped alert rules, and then answers every query of the
dashboard, of the datasources and of the rules (Grafana's variables substituted). Every one must
return data, none is skipped; the crash counts, per crash group too, must be exact.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

from tests.deploy.deploy_helpers import (
    CRASHES,
    REPO,
    RULES_FILE,
    SUPPRESSED,
    Query,
    all_queries,
    load_yaml,
    require_tool,
    substitute,
)

pytestmark = pytest.mark.slow

SERVICE = "threadcrash-e2e"
ENVIRONMENT = "e2e"
FIRST = {"value": 3, "pool": 2}  # each series is born with its first crashes already in
# Then a new code path ("late", a ValueError too) and a burst: a rate, and a spike for the
# critical alert.
SECOND = {"late": 1, "value": 40}
TOTAL = sum(FIRST.values()) + sum(SECOND.values())
CHILD = Path(__file__).with_name("e2e_child.py")
# Storm control on, and room for two crash groups per process: "late" is counted as "other".
CHILD_ENV = {
    "THREADCRASH_RATE_LIMIT": "1",
    "THREADCRASH_BURST": "5",
    "THREADCRASH_MAX_FINGERPRINTS": "2",
}
DEADLINE = 60.0  # seconds, for any one wait below
# Grafana's $__interval is never finer than the datasource's scrape interval: 1 s here.
INTERVAL = "1s"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for(what: str, probe: Callable[[], Any], timeout: float = DEADLINE) -> Any:
    """Poll probe() until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = probe()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


def _read_line(stream: IO[str], timeout: float = DEADLINE) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        pytest.fail(f"child said nothing for {timeout:.0f}s")
    return stream.readline().strip()


@dataclass
class Stack:
    """The running child and Prometheus, and how to query the latter."""

    base_url: str
    child: subprocess.Popen[str]
    log_dir: Path
    fingerprints: dict[str, str] = field(default_factory=dict)  # kind -> its crash group
    started: float = 0.0  # wall clock: before the FIRST crashes
    second: float = 0.0  # wall clock: after Prometheus saw FIRST, before the SECOND crashes

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.base_url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def scalar(self, expr: str) -> float:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else float("nan")

    def crash(self, kinds: dict[str, int]) -> None:
        assert self.child.stdin is not None
        assert self.child.stdout is not None
        for kind, count in kinds.items():
            self.child.stdin.write(f"crash {kind} {count}\n")
            self.child.stdin.flush()
            words = _read_line(self.child.stdout).split()
            assert words[:2] == ["crashed", str(count)], words
            assert self.fingerprints.setdefault(kind, words[2]) == words[2], words


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the child, crash FIRST, start Prometheus, wait for its scrape, crash SECOND."""
    prometheus_binary = require_tool("prometheus")
    tmp = tmp_path_factory.mktemp("e2e")
    metrics_port, prometheus_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "THREADCRASH_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    # Storm control on: the SECOND burst of one fingerprint is mostly rate-limited, so the
    # suppressed panels have data, and the crash counts below must stay exact all the same.
    env.update(CHILD_ENV)
    with (tmp / "child.stderr").open("w") as child_stderr:
        child = subprocess.Popen(
            [
                sys.executable,
                str(CHILD),
                f"--port={metrics_port}",
                f"--service={SERVICE}",
                f"--environment={ENVIRONMENT}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=child_stderr,
            text=True,
            env=env,
        )
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES_FILE)],
        "scrape_configs": [
            {"job_name": SERVICE, "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with (tmp / "prometheus.log").open("w") as prometheus_log:
        prometheus = subprocess.Popen(
            [
                prometheus_binary,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
                "--enable-feature=exemplar-storage",
            ],
            stdout=prometheus_log,
            stderr=subprocess.STDOUT,
        )
    stack = Stack(f"http://127.0.0.1:{prometheus_port}", child, tmp)
    try:
        assert child.stdout is not None
        assert _read_line(child.stdout) == "ready", (tmp / "child.stderr").read_text()
        stack.started = time.time()
        stack.crash(FIRST)
        first = sum(FIRST.values())
        _wait_for(
            f"Prometheus to scrape {first} crashes",
            lambda: stack.scalar(f"sum({CRASHES})") == first,
        )
        stack.second = time.time()
        stack.crash(SECOND)
        _wait_for(
            f"Prometheus to scrape {TOTAL} crashes",
            lambda: stack.scalar(f"sum({CRASHES})") == TOTAL,
        )
        # Two more scrapes and rule evaluations with the final value.
        time.sleep(2.5)
        yield stack
    finally:
        if child.stdin is not None and child.poll() is None:
            child.stdin.write("stop\n")
            child.stdin.flush()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
        _stop(child)
        _stop(prometheus)


def _query_id(query: Query) -> str:
    return query.origin


def _expr(origin: str) -> str:
    """The shipped query of that origin, as Grafana sends it here."""
    [query] = [q for q in all_queries() if q.origin == origin]
    return substitute(query.expr, environment=ENVIRONMENT, service=SERVICE, interval=INTERVAL)


@pytest.mark.parametrize("query", all_queries(), ids=_query_id)
def test_query_returns_data_from_real_prometheus(stack: Stack, query: Query) -> None:
    """Every dashboard, datasource and alert query returns data from the real scrape."""
    expr = substitute(query.expr, environment=ENVIRONMENT, service=SERVICE, interval=INTERVAL)
    if query.kind == "label_values":
        values = stack.api(f"label/{query.label}/values", **{"match[]": expr})
        assert values, f"{query.origin}: no values"
        assert {ENVIRONMENT, SERVICE} & set(values), values
        return
    result = stack.query(expr)  # a PromQL error fails here, for every query
    assert result, f"{query.origin} returned no data:\n{expr}"


def test_crash_counts_are_exact(stack: Stack) -> None:
    """Prometheus sees exactly the crashes the child caused, by error.type, role and source."""
    series = stack.query(CRASHES)
    counts = {
        (
            s["metric"]["error_type"],
            s["metric"]["threadcrash_source"],
            s["metric"]["threadcrash_thread_role"],
            s["metric"]["threadcrash_fingerprint"],
        ): float(s["value"][1])
        for s in series
    }
    fingerprints = stack.fingerprints
    assert counts == {
        ("ValueError", "thread", "worker-N", fingerprints["value"]): FIRST["value"]
        + SECOND["value"],
        ("__main__.PoolError", "thread", "pool-N", fingerprints["pool"]): FIRST["pool"],
        # max_fingerprints=2: the third group is counted, as "other".
        ("ValueError", "thread", "worker-N", "other"): SECOND["late"],
    }
    assert len(set(fingerprints.values())) == 3
    for s in series:
        assert s["metric"]["service_name"] == SERVICE
        assert s["metric"]["deployment_environment_name"] == ENVIRONMENT


def test_suppressed_reports_are_counted(stack: Stack) -> None:
    """With a rate limit of 1/s, most of a 40-crash burst is suppressed, and that is counted."""
    suppressed = stack.scalar(f"sum({SUPPRESSED})")
    assert 0 < suppressed < TOTAL
    for series in stack.query(SUPPRESSED):
        assert series["metric"]["error_type"] in {"ValueError", "__main__.PoolError"}
        assert series["metric"]["threadcrash_source"] == "thread"
        assert series["metric"]["service_name"] == SERVICE


def test_dashboard_totals_and_alert_value_are_exact(stack: Stack) -> None:
    """The 'crashes' stats and the ThreadCrashes alert count every crash, the first ones too."""
    for origin in (
        "panel 'Crashes counted by running processes' A",
        "panel 'Crashes in range' A",
        "rule ThreadCrashes",
    ):
        assert stack.scalar(_expr(origin)) == TOTAL, origin
    assert stack.scalar(_expr("panel 'Crash groups in range' A")) == 3


GROUPS_TABLE = "panel 'Crash groups in range (threadcrash.fingerprint)'"


def _table(stack: Stack, ref_id: str) -> dict[tuple[str, str, str, str], float]:
    """One column of the crash groups table: value per (service, fingerprint, type, source)."""
    return {
        (
            s["metric"]["service_name"],
            s["metric"]["threadcrash_fingerprint"],
            s["metric"]["error_type"],
            s["metric"]["threadcrash_source"],
        ): float(s["value"][1])
        for s in stack.query(_expr(f"{GROUPS_TABLE} {ref_id}"))
    }


def test_the_crash_groups_table_counts_each_group_exactly(stack: Stack) -> None:
    """One row per group with its exact count in range, the first crash of each included."""
    fingerprints = stack.fingerprints
    assert _table(stack, "A") == {
        (SERVICE, fingerprints["value"], "ValueError", "thread"): FIRST["value"] + SECOND["value"],
        (SERVICE, fingerprints["pool"], "__main__.PoolError", "thread"): FIRST["pool"],
        (SERVICE, "other", "ValueError", "thread"): SECOND["late"],
    }


def test_the_crash_groups_table_tells_first_and_last_seen(stack: Stack) -> None:
    """First and last seen (ms) fall where the crashes happened, to the 1 s query interval."""
    fingerprints = stack.fingerprints
    first = _table(stack, "B")
    last = _table(stack, "C")
    value = (SERVICE, fingerprints["value"], "ValueError", "thread")
    pool = (SERVICE, fingerprints["pool"], "__main__.PoolError", "thread")
    late = (SERVICE, "other", "ValueError", "thread")
    assert set(first) == set(last) == {value, pool, late}
    step = 1000.0  # INTERVAL, in ms
    started, second, now = stack.started * 1000, stack.second * 1000, time.time() * 1000
    # value and pool were born with FIRST, scraped before SECOND began; late came with SECOND.
    assert started - step <= first[value] <= second + step
    assert started - step <= first[pool] <= second + step
    assert second - step <= first[late] <= now
    # value crashed again in SECOND; pool's last crash was in FIRST.
    assert second - step <= last[value] <= now
    assert first[pool] <= last[pool] <= second + step
    assert first[late] <= last[late] <= now


def test_every_alert_rule_evaluates_to_an_alert(stack: Stack) -> None:
    """Prometheus itself evaluates the shipped rules: each alert is pending or firing."""
    alerts = {
        rule["alert"]
        for group in load_yaml(RULES_FILE)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }

    def states() -> dict[str, str]:
        return {s["metric"]["alertname"]: s["metric"]["alertstate"] for s in stack.query("ALERTS")}

    seen = _wait_for("every alert to be pending or firing", lambda: alerts <= set(states()))
    assert seen
    final = states()
    assert final["ThreadCrashes"] == "firing"
    assert final["ThreadCrashNewGroup"] == "firing"
    assert final["ThreadCrashNewErrorType"] == "firing"
    assert final["ThreadCrashRateSpike"] == "pending"  # `for: 2m` has not elapsed


def test_new_group_alert_names_each_new_fingerprint_and_never_other(stack: Stack) -> None:
    """ThreadCrashNewGroup fires once per new fingerprint, not for `other`; new types alert too."""
    fingerprints = stack.fingerprints
    new_groups = {
        (s["metric"]["threadcrash_fingerprint"], s["metric"]["error_type"])
        for s in stack.query('ALERTS{alertname="ThreadCrashNewGroup"}')
    }
    assert new_groups == {
        (fingerprints["value"], "ValueError"),
        (fingerprints["pool"], "__main__.PoolError"),
    }
    new_types = {
        s["metric"]["error_type"]
        for s in stack.query('ALERTS{alertname="ThreadCrashNewErrorType"}')
    }
    assert new_types == {"ValueError", "__main__.PoolError"}
