"""The crash span's place in a trace, and the storm summary's fields."""

from __future__ import annotations

import threading
import time
from typing import Any

from opentelemetry import context, trace
from opentelemetry._logs import SeverityNumber

import threadcrash
from tests.helpers import run_thread
from tests.otel import Otel


def crash() -> None:
    raise ValueError("storm")


def test_the_parent_from_thread_start_is_a_local_span(otel: Otel) -> None:
    """The crash span's parent is the starting span of this process, not a remote one."""
    threadcrash.instrument(**otel.providers)
    with otel.tracer_provider.get_tracer("app").start_as_current_span("request"):
        thread = threading.Thread(target=crash)
        thread.start()
    thread.join(30)
    [span] = otel.spans()
    assert span.parent is not None
    assert span.parent.is_remote is False


def test_a_span_left_current_in_the_crashing_thread_is_not_the_parent(otel: Otel) -> None:
    """No parent known at Thread.start: a new trace, even if the thread left a span attached."""
    threadcrash.instrument(capture_parent=False, **otel.providers)
    stray = otel.tracer_provider.get_tracer("app").start_span("left open")

    def attach_then_crash() -> None:
        context.attach(trace.set_span_in_context(stray))  # never detached: the thread dies
        crash()

    run_thread(attach_then_crash)
    [span] = [span for span in otel.spans() if span.name != "left open"]
    assert span.parent is None
    assert span.context is not None
    assert span.context.trace_id != stray.get_span_context().trace_id


def summaries(otel: Otel) -> list[Any]:
    return [log for log in otel.logs() if log.event_name == "threadcrash.suppressed"]


def test_a_summary_is_a_warning_with_its_time_and_a_rounded_duration(otel: Otel) -> None:
    """The held-back summary: WARN, observed now, seconds rounded to milliseconds."""
    threadcrash.instrument(burst=1, rate_limit=0.001, chain=False, **otel.providers)
    for _ in range(3):
        run_thread(crash)
    time.sleep(0.05)  # the held-back crashes are at least this old when told
    before = time.time_ns()
    threadcrash.uninstrument()
    [summary] = summaries(otel)
    assert summary.severity_number == SeverityNumber.WARN
    assert before <= summary.observed_timestamp <= time.time_ns()
    seconds = summary.attributes["threadcrash.suppressed.seconds"]
    assert isinstance(seconds, float)
    assert 0.05 <= seconds < 60
    assert seconds == round(seconds, 3)
