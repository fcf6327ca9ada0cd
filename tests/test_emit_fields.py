"""The fields of one crash's signals: one time for all, the status, the severity, the event."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import pytest

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


def test_the_signals_name_threadcrash_and_its_version_as_their_scope(otel: Otel) -> None:
    """Span and log record come from the instrumentation scope "threadcrash", at our version."""
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    [span] = otel.spans()
    [log_data] = otel.logs_exporter.get_finished_logs()
    expected = ("threadcrash", threadcrash.__version__)
    assert span.instrumentation_scope is not None
    assert (span.instrumentation_scope.name, span.instrumentation_scope.version) == expected
    scope = log_data.instrumentation_scope
    assert scope is not None
    assert (scope.name, scope.version) == expected


def test_a_fatal_crash_is_a_critical_structlog_event(
    otel: Otel, captured_structlog: list[dict[str, Any]]
) -> None:
    """A crash that ends the process is told as "fatal crash" at critical level."""
    emitter = Emitter(_settings.load({}, {}), **otel.providers)
    record = dataclasses.replace(
        build_record(
            MemoryError,
            MemoryError(),
            None,
            source="fatal",
            thread=ThreadFacts("MainThread", 1, 2),
            limits=Limits(4096, 16384),
        ),
        fatal=True,
    )
    emitter.emit(record, record)
    [event] = captured_structlog
    assert (event["event"], event["_level"]) == ("fatal crash", "critical")


def test_structlog_is_imported_when_asked_for_and_not_yet_loaded(
    otel: Otel, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """structlog=True in a program that never imported structlog: imported, and the crash told."""
    monkeypatch.delitem(sys.modules, "structlog")
    emitter = Emitter(_settings.load({"structlog": True}, {}), **otel.providers)
    record = build_record(
        ValueError,
        ValueError("worker failed"),
        None,
        source="thread",
        thread=ThreadFacts("worker", 1, 2),
        limits=Limits(4096, 16384),
    )
    emitter.emit(record, record)
    assert "thread crashed" in capsys.readouterr().out


def test_the_counters_have_their_unit_description_and_scope(otel: Otel) -> None:
    """Both counters are in {crash}, described, and come from the "threadcrash" meter."""
    threadcrash.instrument(burst=1, rate_limit=0.001, chain=False, **otel.providers)
    for _ in range(2):
        run_thread(crash)  # the second is held back: both counters have a point
    data = otel.reader.get_metrics_data()
    assert data is not None
    found = {
        metric.name: (metric.unit, metric.description, scope.scope.name, scope.scope.version)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    version = threadcrash.__version__
    assert found == {
        "threadcrash.crashes": (
            "{crash}",
            "Uncaught exceptions reported by threadcrash",
            "threadcrash",
            version,
        ),
        "threadcrash.suppressed": (
            "{crash}",
            "Crashes counted but not logged or traced (storm control, before_emit)",
            "threadcrash",
            version,
        ),
    }
