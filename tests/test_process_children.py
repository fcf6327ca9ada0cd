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
    assert span["attributes"]["code.function.name"] == "target"  # the child's own traceback
    assert span["trace_id"] != trace_id


PARENT_ONLY_FILTER = """
import dataclasses, logging, multiprocessing, types

logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")  # the child's too

def target():
    raise RuntimeError("the child gave up")

if __name__ == "__main__":
    # a filter from a module only the parent has: a spawned child cannot import it
    def tag(record):
        return dataclasses.replace(record, extra={**record.extra, "team": "ledger"})

    tag.__module__ = "parent_only_filters"
    sys.modules["parent_only_filters"] = types.ModuleType("parent_only_filters")
    sys.modules["parent_only_filters"].tag = tag
    import threadcrash
    threadcrash.instrument(before_emit=tag)
    child = multiprocessing.get_context("spawn").Process(target=target, name="ledger-worker")
    child.start()
    child.join(30)
    print(child.exitcode, flush=True)
"""


@pytest.mark.parametrize("given", ["tag", "lambda record: tag(record)"])
def test_a_spawned_child_that_cannot_import_the_filter_still_reports(
    tmp_path: Path, given: str
) -> None:
    """A ``before_emit`` a spawned child cannot import is left out; the crash still arrives."""
    body = PARENT_ONLY_FILTER.replace("before_emit=tag", f"before_emit={given}")
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver, mode="off")
        spans = spans_of(receiver, "process")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]
    (span,) = spans
    assert span["attributes"]["threadcrash.process.name"] == "ledger-worker"
    assert "team" not in span["attributes"]
    if given == "tag":  # the child says why in its debug log
        assert (
            "threadcrash: threadcrash internal error in before_emit in a child process:\n"
            "RuntimeError: parent_only_filters:tag\n"
        ) in result.stderr
