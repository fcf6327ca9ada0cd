"""The test receiver decodes what the real OTLP/HTTP exporters send, so e2e tests can trust it."""

from __future__ import annotations

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from .otlp_receiver import OtlpReceiver


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_receiver_decodes_spans_logs_and_metrics(compression: Compression) -> None:
    """A span, a log record and a counter sent by the SDK's exporters come back as plain data."""
    resource = Resource.create({"service.name": "receiver-test"})
    with OtlpReceiver() as receiver:
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(
            SimpleSpanProcessor(
                OTLPSpanExporter(
                    endpoint=receiver.endpoint + "/v1/traces", compression=compression, timeout=5
                )
            )
        )
        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(
            SimpleLogRecordProcessor(
                OTLPLogExporter(
                    endpoint=receiver.endpoint + "/v1/logs", compression=compression, timeout=5
                )
            )
        )
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(
                endpoint=receiver.endpoint + "/v1/metrics", compression=compression, timeout=5
            ),
            export_interval_millis=60_000,
        )
        meter_provider = MeterProvider(metric_readers=[reader], resource=resource)

        with tracer_provider.get_tracer("t").start_as_current_span("work", attributes={"a": 1}):
            logger_provider.get_logger("t").emit(
                body="hello",
                severity_number=SeverityNumber.ERROR,
                attributes={"b": ["x", "y"]},
                event_name="exception",
            )
        meter_provider.get_meter("t").create_counter("things").add(3, {"c": True})
        meter_provider.force_flush(timeout_millis=5000)
        for provider in (tracer_provider, logger_provider, meter_provider):
            provider.shutdown()

        assert receiver.errors == []
        (span,) = receiver.spans("work")
        assert span["attributes"] == {"a": 1}
        assert span["resource"]["service.name"] == "receiver-test"
        (log,) = receiver.logs("exception")
        assert log["body"] == "hello"
        assert log["attributes"] == {"b": ["x", "y"]}
        assert log["trace_id"] == span["trace_id"]
        assert log["resource"]["service.name"] == "receiver-test"
        assert receiver.metric_total("things") == 3
        (point, *_) = receiver.metric_points("things")
        assert point["attributes"] == {"c": True}
        encodings = {item.headers.get("content-encoding") for item in receiver.received}
        assert encodings == ({"gzip"} if compression is Compression.Gzip else {None})


def test_receiver_rejects_what_it_cannot_decode() -> None:
    """A body that is not the protobuf of the path gets a 400 and is recorded as an error."""
    import urllib.error
    import urllib.request

    with OtlpReceiver() as receiver:
        request = urllib.request.Request(
            receiver.endpoint + "/v1/traces",
            data=b"\xff\xff\xff",
            headers={"Content-Type": "application/x-protobuf"},
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 400
        assert len(receiver.errors) == 1
        assert receiver.received == []
