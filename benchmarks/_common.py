"""Shared helpers: interleaved rounds, medians, and SDK providers that export nowhere."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class DiscardSpans(SpanExporter):
    """An exporter that accepts everything and sends nothing."""

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class DiscardLogs(LogRecordExporter):
    """An exporter that accepts everything and sends nothing."""

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def providers() -> dict[str, Any]:
    """Real SDK providers with batch processors, as a service would run them."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DiscardSpans()))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(DiscardLogs()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return {
        "tracer_provider": tracer_provider,
        "meter_provider": meter_provider,
        "logger_provider": logger_provider,
    }


def interleaved(
    cases: dict[str, Callable[[int], None]], *, rounds: int, per_round: int
) -> dict[str, float]:
    """Median seconds per operation of each case, the cases alternating round by round.

    The order of the cases is reversed every other round, so neither always runs first.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    order = list(cases.items())
    for index in range(rounds):
        for name, case in order if index % 2 == 0 else reversed(order):
            start = time.perf_counter()
            case(per_round)
            samples[name].append((time.perf_counter() - start) / per_round)
    return {name: statistics.median(values) for name, values in samples.items()}
