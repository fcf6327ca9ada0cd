"""Each signal that fails costs only itself, and is noted as our internal error at its name."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import structlog
from opentelemetry.metrics import NoOpCounter, NoOpMeter, NoOpMeterProvider
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

import threadcrash
from tests.conftest import InternalErrors
from tests.helpers import run_thread
from tests.otel import Otel
from threadcrash import _lifecycle


def crash() -> None:
    raise ValueError("storm")


class DownCounter(NoOpCounter):
    """A counter of a third-party metrics SDK whose backend is down."""

    def add(self, amount: Any, attributes: Any = None, context: Any = None) -> None:
        raise OSError("metrics backend down")


class DownMeter(NoOpMeter):
    def create_counter(self, name: str, unit: str = "", description: str = "") -> Any:
        return DownCounter(name)


class DownMeterProvider(NoOpMeterProvider):
    """A MeterProvider (not the SDK's) whose counters raise and whose flush cannot be reached."""

    def get_meter(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return DownMeter(name)

    @property
    def force_flush(self) -> Any:
        raise OSError("metrics backend unreachable")


class DownLogs(LogRecordProcessor):
    """A log pipeline that fails on every record."""

    def on_emit(self, log_data: Any) -> None:
        raise OSError("log backend down")

    def emit(self, log_data: Any) -> None:  # the name of older SDKs
        raise OSError("log backend down")

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class DownSpans(SpanProcessor):
    """A span pipeline that fails on every span (after the test's own exporter took it)."""

    def on_end(self, span: ReadableSpan) -> None:
        raise OSError("span backend down")


def broken_structlog(_logger: object, _method: str, _event: Any) -> Any:
    raise RuntimeError("structlog processor bug")


def test_failing_metrics_logs_and_structlog_cost_only_themselves(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """Every signal and storm summary fails: each is noted once, and chaining still happens."""
    otel.tracer_provider.add_span_processor(DownSpans())
    logs = LoggerProvider()
    logs.add_log_record_processor(DownLogs())
    structlog.configure(processors=[broken_structlog])
    chained: list[str] = []
    threading.excepthook = lambda args: chained.append(args.exc_type.__name__)
    threadcrash.instrument(
        burst=1,
        rate_limit=0.001,
        tracer_provider=otel.tracer_provider,
        meter_provider=DownMeterProvider(),
        logger_provider=logs,
    )
    for _ in range(3):
        run_thread(crash)
    threadcrash.uninstrument()  # tells the two held-back crashes in a summary
    assert chained == ["ValueError"] * 3
    assert len(otel.spans()) == 1
    assert Counter(where for where, _ in internal_errors.seen) == {
        "span": 1,
        "counter": 3,  # the reported crash and the two held back
        "suppressed counter": 2,
        "log record": 1,
        "structlog": 1,
        "summary log record": 1,
        "summary structlog": 1,
    }
    texts = dict(internal_errors.seen)
    assert "OSError: span backend down" in texts["span"]
    assert "OSError: metrics backend down" in texts["counter"]
    assert "OSError: metrics backend down" in texts["suppressed counter"]
    assert "OSError: log backend down" in texts["log record"]
    assert "OSError: log backend down" in texts["summary log record"]
    assert "RuntimeError: structlog processor bug" in texts["summary structlog"]


def test_a_flush_that_cannot_reach_a_provider_says_so(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """A provider whose force_flush cannot even be looked up: the flush reports failure."""
    threadcrash.instrument(tracer_provider=otel.tracer_provider, meter_provider=DownMeterProvider())
    run_thread(crash)  # the signals are built by the first crash
    installation = _lifecycle.current()
    assert installation is not None
    assert installation.reporter.flush() is False
    [text] = [text for where, text in internal_errors.seen if where == "flush"]
    assert "OSError: metrics backend unreachable" in text
