"""What only a real interpreter shows: stderr, stdout and exit codes of a whole program."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import clean_env, run_python

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

    class Conn:
        def __del__(self):
            raise OSError("cannot close")

    Conn()  # sys.unraisablehook: 3.15 colours its output too
    print("main done")
    """
)


def run_child(
    tmp_path: Path, mode: str, colors: str | None = None
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    extra = {} if colors is None else {"PYTHON_COLORS": colors}
    env = clean_env(drop=("PYTHON_COLORS", "FORCE_COLOR", "NO_COLOR"), **extra)
    return run_python([str(script), mode], env)


def _addresses(text: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "0x...", text)


@pytest.mark.parametrize("colors", [None, "0", "1"])
def test_stderr_is_byte_identical_to_cpythons(tmp_path: Path, colors: str | None) -> None:
    """With default settings stderr is exactly CPython's own, coloured (3.14+) or not."""
    plain = run_child(tmp_path, "off", colors)
    instrumented = run_child(tmp_path, "on", colors)
    assert plain.returncode == instrumented.returncode == 0
    assert "Exception in thread" in plain.stderr
    assert "cannot close" in plain.stderr
    if colors == "1" and sys.version_info >= (3, 14):
        assert "\x1b[" in plain.stderr  # the coloured case really is coloured
    if colors == "0":
        assert "\x1b[" not in plain.stderr
    # the objects' addresses differ from run to run, every other byte is the same
    assert _addresses(instrumented.stderr) == _addresses(plain.stderr)


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
