"""Real OpenTelemetry SDK providers whose output a test reads back (the ``otel`` fixture)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass
class Otel:
    """Real SDK providers with in-memory exporters."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    spans_exporter: InMemorySpanExporter
    logs_exporter: InMemoryLogRecordExporter
    reader: InMemoryMetricReader

    @property
    def providers(self) -> dict[str, Any]:
        return {
            "tracer_provider": self.tracer_provider,
            "meter_provider": self.meter_provider,
            "logger_provider": self.logger_provider,
        }

    def spans(self, name: str = "threadcrash.crash") -> list[ReadableSpan]:
        return [span for span in self.spans_exporter.get_finished_spans() if span.name == name]

    def logs(self) -> list[Any]:
        return [item.log_record for item in self.logs_exporter.get_finished_logs()]

    def counts(self, metric: str = "threadcrash.crashes") -> dict[frozenset[Any], int]:
        """Counter value per attribute set (cumulative)."""
        result: dict[frozenset[Any], int] = {}
        data = self.reader.get_metrics_data()
        if data is None:
            return result
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for item in scope_metrics.metrics:
                    if item.name != metric:
                        continue
                    for point in item.data.data_points:
                        key = frozenset((point.attributes or {}).items())
                        result[key] = result.get(key, 0) + int(point.value)  # type: ignore[union-attr]
        return result

    def total(self, metric: str = "threadcrash.crashes") -> int:
        return sum(self.counts(metric).values())

    @classmethod
    def create(cls) -> Otel:
        """Fresh providers, each exporting synchronously into memory."""
        spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
        logger_provider = LoggerProvider()
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        return cls(tracer_provider, meter_provider, logger_provider, spans, logs, reader)

    def shutdown(self) -> None:
        """Shut the three providers down."""
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.meter_provider.shutdown()
