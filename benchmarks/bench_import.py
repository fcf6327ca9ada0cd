"""Import and ``instrument()`` cost, against importing and setting up the OpenTelemetry SDK alone.

Every run is a fresh interpreter, so nothing is imported already; each times itself from its
first line to the end of its set-up (interpreter start-up is left out). The cases alternate, run
after run, and the medians are compared:

- ``sdk``: import the SDK and the OTLP/HTTP exporters, build tracer, meter and logger providers
  with batch processors, as a service does at start-up;
- ``sdk + threadcrash``: the same, then ``import threadcrash`` and ``threadcrash.instrument()``
  with those providers;
- ``threadcrash alone``: ``import threadcrash`` and ``threadcrash.instrument()`` with no
  providers and no ``OTEL_*`` variables (structlog events only, nothing exported).

Printed: milliseconds per case and the ratios to the SDK's own set-up.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

SDK = """
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

endpoint = "http://127.0.0.1:9"
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
logger_provider = LoggerProvider()
logger_provider.add_log_record_processor(
    BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint))
)
meter_provider = MeterProvider(
    metric_readers=[
        PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=endpoint), export_interval_millis=3_600_000
        )
    ]
)
"""

THREADCRASH = """
import threadcrash
threadcrash.instrument(
    tracer_provider=tracer_provider,
    meter_provider=meter_provider,
    logger_provider=logger_provider,
)
"""

ALONE = """
import threadcrash
threadcrash.instrument()
"""

CASES = {
    "sdk": SDK,
    "sdk + threadcrash": SDK + THREADCRASH,
    "threadcrash alone": ALONE,
}


def _timed(body: str) -> str:
    return (
        "import time\n_start = time.perf_counter()\n"
        + body
        + "\nprint(time.perf_counter() - _start, flush=True)\nimport os\nos._exit(0)\n"
    )


def run(body: str) -> float:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_", "THREADCRASH_"))
    }
    done = subprocess.run(
        [sys.executable, "-c", _timed(body)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    rounds = 15
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(rounds):
        for name, body in CASES.items():
            samples[name].append(run(body))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    sdk = medians["sdk"]
    added = medians["sdk + threadcrash"] - sdk
    print(f"python {sys.version.split()[0]}; start-up cost, median of {rounds} fresh interpreters")
    for name, value in medians.items():
        print(f"{name:>20}: {value * 1e3:8.1f} ms  ({value / sdk:.2f} x the SDK set-up)")
    print(f"threadcrash added to an SDK set-up: {added * 1e3:.1f} ms, ratio {added / sdk:.2f}")


if __name__ == "__main__":
    main()
