"""The ``main`` source: ``sys.excepthook``, FATAL, flushed (bounded) before CPython prints."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import threadcrash
from tests.otel import Otel

Call = tuple[type[BaseException], BaseException, Any]


def crash_main(error: BaseException) -> None:
    """Hand ``error`` to ``sys.excepthook`` as the interpreter does for an uncaught exception."""
    try:
        raise error
    except BaseException:
        exc_type, exc_value, exc_tb = sys.exc_info()
        assert exc_type is not None
        assert exc_value is not None
        sys.excepthook(exc_type, exc_value, exc_tb)


@pytest.fixture
def previous_calls() -> list[Call]:
    """Install a previous ``sys.excepthook`` that records its arguments instead of printing."""
    calls: list[Call] = []
    sys.excepthook = lambda *args: calls.append(args)
    return calls


def test_uncaught_exception_is_reported_as_fatal(otel: Otel, previous_calls: list[Call]) -> None:
    """A crash of the main thread gives one FATAL report of each signal, source ``main``."""
    threadcrash.instrument(**otel.providers)
    crash_main(ValueError("the end"))
    (span,) = otel.spans()
    assert span.attributes is not None
    assert span.attributes["threadcrash.source"] == "main"
    assert span.attributes["thread.name"] == threading.main_thread().name
    assert span.attributes["thread.id"] == threading.main_thread().ident
    (log,) = otel.logs()
    assert log.severity_number == SeverityNumber.FATAL
    assert log.body == "the end"
    assert otel.counts() == {
        frozenset(
            {
                ("error.type", "ValueError"),
                ("threadcrash.source", "main"),
                ("threadcrash.thread.role", "MainThread"),
                ("threadcrash.fingerprint", span.attributes["threadcrash.fingerprint"]),
            }
        ): 1
    }
    assert len(previous_calls) == 1
    assert previous_calls[0][0] is ValueError


def test_previous_hook_gets_the_same_arguments(otel: Otel, previous_calls: list[Call]) -> None:
    """The hook installed before us is called once, with the very same objects."""
    threadcrash.instrument(**otel.providers)
    error = RuntimeError("x")
    crash_main(error)
    assert len(previous_calls) == 1
    assert previous_calls[0][1] is error
    assert previous_calls[0][2] is error.__traceback__


def test_structlog_event_is_critical(
    otel: Otel, previous_calls: list[Call], captured_structlog: list[dict[str, Any]]
) -> None:
    """The structlog event of a process-ending crash has level ``critical``."""
    threadcrash.instrument(**otel.providers)
    crash_main(ValueError("x"))
    (event,) = captured_structlog
    assert event["_level"] == "critical"
    assert event["threadcrash.source"] == "main"


def test_keyboard_interrupt_is_not_a_crash_by_default(
    otel: Otel, previous_calls: list[Call]
) -> None:
    """Ctrl-C ends the process without a crash report, and CPython still prints it."""
    threadcrash.instrument(**otel.providers)
    crash_main(KeyboardInterrupt())
    assert otel.spans() == []
    assert otel.logs() == []
    assert len(previous_calls) == 1


def test_keyboard_interrupt_can_be_reported(
    otel: Otel, previous_calls: list[Call], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``THREADCRASH_REPORT_KEYBOARD_INTERRUPT=true`` reports Ctrl-C like any crash."""
    monkeypatch.setenv("THREADCRASH_REPORT_KEYBOARD_INTERRUPT", "true")
    threadcrash.instrument(**otel.providers)
    crash_main(KeyboardInterrupt())
    (span,) = otel.spans()
    assert span.attributes is not None
    assert span.attributes["exception.type"] == "KeyboardInterrupt"


def test_uninstrument_restores_the_previous_hook(otel: Otel, previous_calls: list[Call]) -> None:
    """After ``uninstrument()`` the hook is the one installed before, and nothing is reported."""
    before = sys.excepthook
    threadcrash.instrument(**otel.providers)
    assert sys.excepthook is not before
    threadcrash.uninstrument()
    assert sys.excepthook is before
    crash_main(ValueError("x"))
    assert otel.spans() == []


def test_main_source_can_be_turned_off(otel: Otel, previous_calls: list[Call]) -> None:
    """``sources`` without ``main`` leaves ``sys.excepthook`` alone."""
    before = sys.excepthook
    threadcrash.instrument(sources="thread", **otel.providers)
    assert sys.excepthook is before


class SlowExporter(SpanExporter):
    """Exports after a delay, or never while ``blocked`` is set."""

    def __init__(self, delay: float = 0.0, block: bool = False) -> None:
        self.exported: list[ReadableSpan] = []
        self.delay = delay
        self.release = threading.Event()
        if not block:
            self.release.set()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        time.sleep(self.delay)
        self.release.wait(10)
        self.exported.extend(spans)
        return SpanExportResult.SUCCESS


def test_crash_is_exported_before_the_previous_hook_runs(otel: Otel) -> None:
    """With a batch processor, the crash span has left the process when CPython's hook runs."""
    exporter = SlowExporter(delay=0.05)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    seen_at_previous: list[int] = []
    sys.excepthook = lambda *args: seen_at_previous.append(len(exporter.exported))
    providers = {**otel.providers, "tracer_provider": tracer_provider}
    threadcrash.instrument(**providers)
    crash_main(ValueError("x"))
    assert seen_at_previous == [1]
    tracer_provider.shutdown()


def test_flush_wait_is_bounded(otel: Otel) -> None:
    """An exporter that never returns delays CPython's hook by ``flush_timeout``, not longer."""
    exporter = SlowExporter(block=True)
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    reached: list[float] = []
    sys.excepthook = lambda *args: reached.append(time.monotonic())
    providers = {**otel.providers, "tracer_provider": tracer_provider}
    threadcrash.instrument(flush_timeout=0.3, **providers)
    start = time.monotonic()
    crash_main(ValueError("x"))
    assert len(reached) == 1
    assert 0.25 <= reached[0] - start < 2.0
    exporter.release.set()
    tracer_provider.shutdown()


def test_exit_is_not_reported(otel: Otel, previous_calls: list[Call]) -> None:
    """``SystemExit`` handed to the hook is not a crash (the interpreter never passes it)."""
    threadcrash.instrument(**otel.providers)
    crash_main(SystemExit(3))
    assert otel.spans() == []
    assert len(previous_calls) == 1


class RecordingMetricExporter(MetricExporter):
    """A push exporter that keeps the names of the metrics it was handed."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        for resource_metrics in metrics_data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                self.names.extend(metric.name for metric in scope_metrics.metrics)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


def test_the_callers_meter_and_logger_providers_are_flushed_before_the_previous_hook(
    otel: Otel,
) -> None:
    """The count and log record given to the caller's own providers leave before CPython prints."""
    metric_exporter = RecordingMetricExporter()
    meter_provider = MeterProvider(
        metric_readers=[
            PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
        ],
        shutdown_on_exit=False,
    )
    log_exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(log_exporter, schedule_delay_millis=3_600_000)
    )
    seen_at_previous: list[tuple[bool, list[object]]] = []
    sys.excepthook = lambda *args: seen_at_previous.append(
        (
            "threadcrash.crashes" in metric_exporter.names,
            [item.log_record.body for item in log_exporter.get_finished_logs()],
        )
    )
    providers = {
        **otel.providers,
        "meter_provider": meter_provider,
        "logger_provider": logger_provider,
    }
    threadcrash.instrument(**providers)
    crash_main(ValueError("flushed"))
    assert seen_at_previous == [(True, ["flushed"])]
    meter_provider.shutdown()
    logger_provider.shutdown()
