"""Prometheus config and alert rules, checked by the real `promtool` (Debian's `prometheus`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.deploy_helpers import (
    PROMETHEUS_CONFIG,
    RULE_TESTS_FILE,
    RULES_FILE,
    load_yaml,
    require_tool,
)


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("promtool"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _alerts() -> dict[str, dict[str, object]]:
    rules = load_yaml(RULES_FILE)
    return {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}


@pytest.mark.slow
def test_promtool_check_config() -> None:
    """`promtool check config` accepts prometheus.yml and the rule files it loads."""
    result = _promtool("check", "config", PROMETHEUS_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


@pytest.mark.slow
def test_promtool_check_rules() -> None:
    """`promtool check rules` accepts the alert rules."""
    result = _promtool("check", "rules", RULES_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


@pytest.mark.slow
def test_promtool_test_rules() -> None:
    """The alert rules' unit tests (`promtool test rules`) pass."""
    result = _promtool("test", "rules", RULE_TESTS_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _test_rules_with(tmp_path: Path, alert: str, expr: str) -> str:
    """Run the shipped unit tests against the rules with one alert's expression replaced."""
    rules = load_yaml(RULES_FILE)
    for rule in rules["groups"][0]["rules"]:
        if rule.get("alert") == alert:
            rule["expr"] = expr
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "rules" / RULES_FILE.name).write_text(yaml.safe_dump(rules), encoding="utf-8")
    shutil.copy(RULE_TESTS_FILE, tmp_path / "tests" / RULE_TESTS_FILE.name)
    result = _promtool("test", "rules", tmp_path / "tests" / RULE_TESTS_FILE.name)
    assert result.returncode != 0, f"the unit tests accepted a broken {alert}"
    return result.stdout + result.stderr


@pytest.mark.slow
def test_rule_unit_tests_catch_a_rule_that_misses_the_first_crash(tmp_path: Path) -> None:
    """An 'any crash' rule written with increase() misses a first crash; the unit tests see it."""
    output = _test_rules_with(
        tmp_path,
        "ThreadCrashes",
        "sum by (deployment_environment_name, service_name)"
        " (increase(threadcrash_crashes_total[5m])) > 0",
    )
    assert "alertname: ThreadCrashes" in output


def _new_group_rule(keys: str, selector: str = "") -> str:
    return (
        f"group by ({keys}) (threadcrash_crashes_total{selector})"
        f" unless on ({keys})"
        f" group by ({keys}) (max_over_time(threadcrash_crashes_total{selector}[1d] offset 15m))"
    )


@pytest.mark.slow
def test_rule_unit_tests_catch_a_new_group_rule_keyed_on_the_error_type(tmp_path: Path) -> None:
    """A 'new group' keyed on error type x source x role misses a new bug of an old type."""
    keys = (
        "deployment_environment_name, service_name, error_type, threadcrash_source,"
        " threadcrash_thread_role"
    )
    output = _test_rules_with(tmp_path, "ThreadCrashNewGroup", _new_group_rule(keys))
    assert "alertname: ThreadCrashNewGroup" in output


@pytest.mark.slow
def test_rule_unit_tests_catch_a_new_group_rule_that_counts_other(tmp_path: Path) -> None:
    """A 'new group' rule that forgets to leave out `other` fires when only `other` grows."""
    keys = "deployment_environment_name, service_name, threadcrash_fingerprint"
    output = _test_rules_with(tmp_path, "ThreadCrashNewGroup", _new_group_rule(keys))
    assert "alertname: ThreadCrashNewGroup" in output
    assert 'threadcrash_fingerprint="other"' in output


def test_issue_alerts_exist_with_their_severity() -> None:
    """Any crash in 5 min, a rate spike (critical), a new crash group and a new error type."""
    alerts = _alerts()
    assert {name: rule["labels"] for name, rule in alerts.items()} == {
        "ThreadCrashes": {"severity": "warning"},
        "ThreadCrashRateSpike": {"severity": "critical"},
        "ThreadCrashNewGroup": {"severity": "warning"},
        "ThreadCrashNewErrorType": {"severity": "warning"},
    }
    assert "5m" in str(alerts["ThreadCrashes"]["expr"])
    for rule in alerts.values():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        assert {"summary", "description"} <= annotations.keys()


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    """Each alert has a promtool case where it fires and one where it must stay quiet."""
    tests = load_yaml(RULE_TESTS_FILE)
    assert tests["rule_files"] == [f"../rules/{RULES_FILE.name}"]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fires == set(_alerts())
    assert quiet == set(_alerts())
