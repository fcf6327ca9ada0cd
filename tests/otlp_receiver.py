"""A small OTLP/HTTP receiver on 127.0.0.1 that decodes the real protobufs, for end-to-end tests.

Usage::

    with OtlpReceiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, ...}
        subprocess.run([...], env=env, timeout=60)
        spans = receiver.wait_for(lambda r: r.spans("threadcrash.crash"), timeout=10)

It accepts ``POST /v1/traces``, ``/v1/logs`` and ``/v1/metrics`` with
``Content-Type: application/x-protobuf`` (gzip or deflate encoded or not), decodes each body into
``ExportTraceServiceRequest``, ``ExportLogsServiceRequest`` or ``ExportMetricsServiceRequest``
and keeps it. The views (:meth:`OtlpReceiver.spans`, :meth:`~OtlpReceiver.logs`,
:meth:`~OtlpReceiver.metric_points`) flatten the requests into plain dicts with the resource
attributes alongside, so a test can assert on them without protobuf plumbing. Anything it cannot
decode is answered with 400 and recorded in :attr:`OtlpReceiver.errors`.

Faults, for tests of a collector in trouble (each may be changed while it runs): ``status`` is
the answer to a good request (``503`` for an overloaded collector), ``delay`` seconds pass before
any answer (a stalled one), and ``bind_port`` binds a chosen port, so a receiver can come up where
exporters were refused before.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

T = TypeVar("T")

_SIGNALS: dict[str, tuple[Any, Any]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}
_MAX_BODY = 64 * 1024 * 1024


def any_value(value: AnyValue) -> Any:
    """Turn an OTLP ``AnyValue`` into plain Python data."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    return getattr(value, kind)


def attributes(items: Iterator[KeyValue] | Any) -> dict[str, Any]:
    """Repeated OTLP ``KeyValue`` as a dict."""
    return {item.key: any_value(item.value) for item in items}


@dataclass
class Received:
    """One decoded export request and how it came."""

    path: str
    request: Any
    headers: dict[str, str]


@dataclass
class OtlpReceiver:
    """OTLP/HTTP on 127.0.0.1 (an ephemeral port); a context manager that starts and stops it."""

    status: int = 200
    received: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    delay: float = 0.0
    bind_port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> OtlpReceiver:
        """Listen and serve in a daemon thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", self.bind_port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="otlp-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (bounded) and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._server is not None, "receiver not started"
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The base URL, for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        """``OTEL_*`` variables that send every signal here over OTLP/HTTP, quickly."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_BLRP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
            **extra,
        }

    # the HTTP side

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        if self.delay:
            time.sleep(self.delay)
        try:
            length = int(handler.headers.get("Content-Length", "0"))
            if not 0 <= length <= _MAX_BODY:
                raise ValueError(f"bad Content-Length {length}")
            body = handler.rfile.read(length)
            encoding = (handler.headers.get("Content-Encoding") or "").strip().lower()
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding not in ("", "identity"):
                raise ValueError(f"unknown Content-Encoding {encoding!r}")
            if path not in _SIGNALS:
                raise ValueError(f"unknown path {path!r}")
            content_type = handler.headers.get("Content-Type", "")
            if "protobuf" not in content_type:
                raise ValueError(f"expected protobuf, got Content-Type {content_type!r}")
            request_type, response_type = _SIGNALS[path]
            request = request_type()
            request.ParseFromString(body)
        except Exception as error:
            with self._lock:
                self.errors.append(f"{path}: {type(error).__name__}: {error}")
            self._reply(handler, 400, b"")
            return
        with self._lock:
            self.received.append(
                Received(path, request, {k.lower(): v for k, v in handler.headers.items()})
            )
        payload = response_type().SerializeToString() if self.status == 200 else b""
        self._reply(handler, self.status, payload)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, payload: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/x-protobuf")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    # views

    def requests(self, path: str) -> list[Received]:
        """Return the requests received on ``path`` (such as ``/v1/logs``)."""
        with self._lock:
            return [item for item in self.received if item.path == path]

    def spans(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every span received (optionally only those called ``name``), flattened."""
        found = []
        for item in self.requests("/v1/traces"):
            for resource_spans in item.request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        if name is not None and span.name != name:
                            continue
                        found.append(
                            {
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex(),
                                "kind": span.kind,
                                "status_code": span.status.code,
                                "status_message": span.status.message,
                                "attributes": attributes(span.attributes),
                                "events": [
                                    {"name": event.name, "attributes": attributes(event.attributes)}
                                    for event in span.events
                                ],
                                "resource": resource,
                                "scope": scope_spans.scope.name,
                            }
                        )
        return found

    def logs(self, event_name: str | None = None) -> list[dict[str, Any]]:
        """Every log record received (optionally only those with ``event_name``), flattened."""
        found = []
        for item in self.requests("/v1/logs"):
            for resource_logs in item.request.resource_logs:
                resource = attributes(resource_logs.resource.attributes)
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        if event_name is not None and record.event_name != event_name:
                            continue
                        found.append(
                            {
                                "event_name": record.event_name,
                                "severity_number": record.severity_number,
                                "severity_text": record.severity_text,
                                "body": any_value(record.body),
                                "attributes": attributes(record.attributes),
                                "trace_id": record.trace_id.hex(),
                                "span_id": record.span_id.hex(),
                                "resource": resource,
                                "scope": scope_logs.scope.name,
                            }
                        )
        return found

    def metric_points(self, name: str) -> list[dict[str, Any]]:
        """Every data point of the sum or gauge metric ``name``, flattened, in arrival order."""
        found = []
        for item in self.requests("/v1/metrics"):
            for resource_metrics in item.request.resource_metrics:
                resource = attributes(resource_metrics.resource.attributes)
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        if metric.name != name:
                            continue
                        kind = metric.WhichOneof("data")
                        data = getattr(metric, kind) if kind else None
                        for point in getattr(data, "data_points", ()):
                            value_kind = point.WhichOneof("value")
                            found.append(
                                {
                                    "name": metric.name,
                                    "unit": metric.unit,
                                    "kind": kind,
                                    "value": getattr(point, value_kind) if value_kind else None,
                                    "attributes": attributes(point.attributes),
                                    "exemplars": [
                                        {
                                            "trace_id": exemplar.trace_id.hex(),
                                            "span_id": exemplar.span_id.hex(),
                                        }
                                        for exemplar in point.exemplars
                                    ],
                                    "resource": resource,
                                    "scope": scope_metrics.scope.name,
                                }
                            )
        return found

    def metric_total(self, name: str) -> float:
        """Return the latest cumulative value of a sum metric, summed over its attribute sets."""
        latest: dict[frozenset[Any], float] = {}
        for point in self.metric_points(name):
            key = frozenset((k, repr(v)) for k, v in point["attributes"].items())
            latest[key] = point["value"]
        return sum(latest.values())

    def wait_for(
        self, probe: Callable[[OtlpReceiver], T], timeout: float = 10.0, interval: float = 0.05
    ) -> T:
        """Poll ``probe(self)`` until it returns something truthy (bounded); return that."""
        deadline = time.monotonic() + timeout
        while True:
            result = probe(self)
            if result or time.monotonic() >= deadline:
                return result
            time.sleep(interval)
