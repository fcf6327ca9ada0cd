"""What only a real interpreter shows: stderr, stdout and exit codes of a whole program."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.helpers import run_python

pytestmark = pytest.mark.slow  # every test here runs a child interpreter

CHILD = textwrap.dedent(
    """
    import sys, threading
    if sys.argv[1] == "on":
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        import threadcrash
        threadcrash.instrument(
            tracer_provider=TracerProvider(),
            meter_provider=MeterProvider(),
            logger_provider=LoggerProvider(),
        )

    def work():
        try:
            {}["key"]
        except KeyError as error:
            raise ValueError("worker failed") from error

    for name in ("worker-1", "worker-2"):
        thread = threading.Thread(target=work, name=name)
        thread.start()
        thread.join()
    print("main done")
    """
)


def run_child(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return run_python([str(script), mode])


def test_stderr_is_byte_identical_to_cpythons(tmp_path: Path) -> None:
    """With default settings the tracebacks on stderr are exactly CPython's own."""
    plain = run_child(tmp_path, "off")
    instrumented = run_child(tmp_path, "on")
    assert plain.returncode == instrumented.returncode == 0
    assert "Exception in thread worker-1" in plain.stderr
    assert instrumented.stderr == plain.stderr


def test_stdout_is_untouched_when_structlog_was_never_configured(tmp_path: Path) -> None:
    """A program that never set up structlog finds no new lines on its stdout."""
    assert run_child(tmp_path, "on").stdout == "main done\n"


def test_the_demo_prints_one_event_per_crash_in_its_requests_trace() -> None:
    """``threadcrash demo`` runs with no collector; each crash is in the trace of its request."""
    command = ["demo", "--crashes", "2", "--interval", "0", "--format", "json"]
    result = run_python(["-m", "threadcrash", *command])
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    crashes = {e["thread.name"]: e for e in events if e["event"] == "thread crashed"}
    accepted = {e["job"]: e for e in events if e["event"] == "order accepted"}
    assert sorted(crashes) == ["order-worker-1", "order-worker-2"]
    for job in (1, 2):
        assert crashes[f"order-worker-{job}"]["trace_id"] == accepted[job]["trace_id"]
    assert result.stderr == ""
