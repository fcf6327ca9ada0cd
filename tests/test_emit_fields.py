"""The fields of one crash's signals: one time for all, the status, the severity, the event."""

from __future__ import annotations

from typing import Any

import threadcrash
from tests.helpers import run_thread
from tests.otel import Otel
from threadcrash import _settings
from threadcrash._emit import Emitter
from threadcrash._record import Limits, ThreadFacts, build_record

LONG = "disk full: " + "x" * 300


def crash() -> None:
    raise ValueError(LONG)


def test_span_event_and_log_record_carry_the_one_crash_time(otel: Otel) -> None:
    """The span's start, its exception event and the log record all say when the crash was."""
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    [span] = otel.spans()
    [event] = span.events
    [log] = otel.logs()
    assert span.start_time == event.timestamp == log.timestamp
    assert log.observed_timestamp is not None
    assert log.observed_timestamp >= log.timestamp


def test_the_span_status_and_log_severity_say_error(otel: Otel) -> None:
    """Status ERROR with the type and the first 256 characters of the message; log ERROR."""
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    [span] = otel.spans()
    [log] = otel.logs()
    assert span.status.description == f"ValueError: {LONG[:256]}"
    assert log.severity_text == "ERROR"


def test_a_source_without_its_own_event_name_is_a_crash_event(
    otel: Otel, captured_structlog: list[dict[str, Any]]
) -> None:
    """A crash from a child process is told in structlog as "crash", with its fields."""
    emitter = Emitter(_settings.load({}, {}), **otel.providers)
    record = build_record(
        ValueError,
        ValueError("child gave up"),
        None,
        source="process",
        thread=ThreadFacts("MainThread", 1, 2),
        limits=Limits(4096, 16384),
    )
    emitter.emit(record, record)
    [event] = captured_structlog
    assert event["event"] == "crash"
    assert event["threadcrash.source"] == "process"
