"""A service instrumented with threadcrash, exposing its metrics for a real Prometheus to scrape.

Run by test_deploy_e2e.py. Protocol on stdin/stdout, one line each:
  stdout `ready`                  the metrics endpoint is up
  stdin  `crash <kind> <n>`       crash n real threads of that kind (see KINDS), one after another
  stdout `crashed <n> <fp>`       they have all died; <fp> is their crash span's fingerprint
                                  (`-` if storm control held back every one of them)
  stdin  `stop`                   exit 0
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import start_http_server

import threadcrash


class PoolError(Exception):
    """A user-defined exception, reported as `__main__.PoolError`."""


def _value_error() -> None:
    raise ValueError("bad input")


def _pool_error() -> None:
    raise PoolError("pool exhausted")


def _late_value_error() -> None:
    raise ValueError("another code path")


# kind -> (thread name prefix, target): the names give the roles "worker-N" and "pool-N".
# "late" raises the type of "value" from another function: another crash group.
KINDS: dict[str, tuple[str, Callable[[], None]]] = {
    "value": ("worker", _value_error),
    "pool": ("pool", _pool_error),
    "late": ("worker", _late_value_error),
}


def main() -> int:
    """Serve metrics, crash threads on request, stop on request."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--environment", required=True)
    args = parser.parse_args()

    resource = Resource.create(
        {"service.name": args.service, "deployment.environment.name": args.environment}
    )
    # As a user scraping the process directly would: these two resource attributes become the
    # labels service_name and deployment_environment_name, as the collector makes them.
    reader = PrometheusMetricReader(
        resource_attribute_filter=lambda key: key in {"service.name", "deployment.environment.name"}
    )
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
    # Spans stay in memory (to tell the test each group's fingerprint); log records go nowhere.
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    threadcrash.instrument(
        meter_provider=meter_provider,
        tracer_provider=tracer_provider,
        logger_provider=LoggerProvider(resource=resource),
    )
    server, server_thread = start_http_server(args.port, addr="127.0.0.1")
    print("ready", flush=True)

    serial = 0
    for line in sys.stdin:
        words = line.split()
        if words == ["stop"]:
            break
        if len(words) == 3 and words[0] == "crash" and words[1] in KINDS:
            prefix, target = KINDS[words[1]]
            for _ in range(int(words[2])):
                serial += 1
                thread = threading.Thread(target=target, name=f"{prefix}-{serial}")
                thread.start()
                thread.join(timeout=10)
            fingerprints = {
                str((span.attributes or {}).get("threadcrash.fingerprint"))
                for span in spans.get_finished_spans()
            }
            spans.clear()
            print(f"crashed {words[2]} {','.join(sorted(fingerprints)) or '-'}", flush=True)
        else:
            print(f"error unknown command {line!r}", flush=True)
    server.shutdown()
    server_thread.join(timeout=5)
    meter_provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
