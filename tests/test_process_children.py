"""A ``multiprocessing`` child's crash under the settings that change it, as whole programs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.otlp_receiver import OtlpReceiver
from tests.test_future_process_e2e import PROCESS, spans_of
from tests.test_sources_e2e import run_child

pytestmark = [pytest.mark.slow, pytest.mark.mutants]

INTERRUPTED = PROCESS.replace('raise RuntimeError("the child gave up")', "raise KeyboardInterrupt")


@pytest.mark.parametrize(("report", "expected"), [("false", 0), ("true", 1)])
def test_a_keyboard_interrupt_ending_a_process_is_a_crash_only_when_asked(
    tmp_path: Path, report: str, expected: int
) -> None:
    """Ctrl-C in a child is reported only with ``THREADCRASH_REPORT_KEYBOARD_INTERRUPT=true``."""
    env = {"THREADCRASH_REPORT_KEYBOARD_INTERRUPT": report}
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, INTERRUPTED, receiver, mode="off", args=("fork",), env=env)
        spans = spans_of(receiver, "process")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[2] == "1"  # multiprocessing's exit code for it, as before
    assert "KeyboardInterrupt" in result.stderr
    assert len(spans) == expected
    if spans:
        assert spans[0]["attributes"]["exception.type"] == "KeyboardInterrupt"


def test_without_capture_parent_a_process_crash_starts_its_own_trace(tmp_path: Path) -> None:
    """With ``THREADCRASH_CAPTURE_PARENT=false`` a child's crash is not in the caller's trace."""
    env = {"THREADCRASH_CAPTURE_PARENT": "false"}
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, PROCESS, receiver, mode="off", args=("spawn",), env=env)
        spans = spans_of(receiver, "process")
    assert result.returncode == 0, result.stderr
    trace_id = result.stdout.split()[3]
    (span,) = spans
    assert span["attributes"]["threadcrash.process.name"] == "ledger-worker"
    assert span["trace_id"] != trace_id
