"""Memory under a long storm: RSS after 100,000 crashes minus RSS after 1,000 (budget: 5 MB).

Each case runs in its own interpreter, so one case's heap cannot hide or inflate another's. The
child sets up the SDK as a service does (OTLP/HTTP exporters behind batch processors, a periodic
metric reader) and calls the installed ``threading.excepthook`` with a freshly raised exception
each time, as a dying thread would. The collector is either up (a local sink answering 200) or
down (a port where connections are refused). Cases:

- storm control on (the defaults): one kind of crash, and 3,000 kinds cycling (more than the
  1,024 fingerprints the gate remembers);
- storm control off (``rate_limit=0``): every crash is a span, a log record and a structlog
  event, so the SDK's batch queues (2,048 records each by default) fill up and, with the
  collector down, stay full: memory is bounded by those queues, not by the number of crashes.

Printed: the RSS growth per case in MB from 1,000 to 100,000 crashes (the budget applies to the
defaults) and from 10,000 to 100,000 (once the queues are as full as they get).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BUDGET_MB = 5.0
WARMUP = 1_000
FULL = 10_000
TOTAL = 100_000


def rss_bytes() -> int:
    """Resident set size now (Linux); elsewhere the peak, which can only overstate growth."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child(endpoint: str, rate_limit: float, kinds: int) -> None:
    """One case: crash TOTAL times through the installed hook, print the RSS at both marks."""
    import structlog
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import threadcrash

    structlog.configure(  # rendered and written, but to nowhere: a buffer would grow
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(open(os.devnull, "w")),  # noqa: SIM115
        cache_logger_on_first_use=True,
    )
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=2))
    )
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", timeout=2))
    )
    meter_provider = MeterProvider(
        metric_readers=[
            PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=2),
                export_interval_millis=1000,
            )
        ]
    )
    threadcrash.instrument(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        chain=False,
        rate_limit=rate_limit,
    )
    classes = [type(f"StormError{index}", (Exception,), {}) for index in range(kinds)]
    hook = threading.excepthook
    current = threading.current_thread()

    def crash(index: int) -> None:
        try:
            raise classes[index % kinds](f"request {index} failed")
        except Exception as error:
            hook(threading.ExceptHookArgs([type(error), error, error.__traceback__, current]))

    marks: dict[str, float] = {}
    start = time.perf_counter()
    for index in range(WARMUP):
        crash(index)
    gc.collect()
    marks["warm"] = rss_bytes()
    for index in range(WARMUP, FULL):
        crash(index)
    gc.collect()
    marks["full"] = rss_bytes()
    for index in range(FULL, TOTAL):
        crash(index)
    gc.collect()
    marks["end"] = rss_bytes()
    marks["seconds"] = time.perf_counter() - start
    print(json.dumps(marks), flush=True)
    threadcrash.uninstrument()
    # exit without waiting for exporters that may be retrying against a dead collector
    sys.stdout.flush()
    os._exit(0)


def run_case(endpoint: str, rate_limit: float, kinds: int) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_memory",
        "--child",
        endpoint,
        str(rate_limit),
        str(kinds),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, cwd=None
    )
    if done.returncode != 0:
        raise RuntimeError(f"case failed: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    up = f"http://127.0.0.1:{server.server_address[1]}"
    down = f"http://127.0.0.1:{_closed_port()}"
    print(f"python {sys.version.split()[0]}; RSS after {TOTAL:,} crashes minus after {WARMUP:,}")
    print(f"{'':>44} {'':>10} {'growth MB from':^22}")
    print(f"{'case':>44} {'collector':>10} {'1,000':>10} {'10,000':>10} {'seconds':>8}")
    cases = [
        ("storm control on, one kind of crash", 1.0, 1),
        ("storm control on, 3,000 kinds cycling", 1.0, 3000),
        ("storm control off: every crash reported", 0.0, 1),
    ]
    worst = 0.0
    for label, rate_limit, kinds in cases:
        for collector, endpoint in (("up", up), ("down", down)):
            marks = run_case(endpoint, rate_limit, kinds)
            growth = (marks["end"] - marks["warm"]) / 1e6
            plateau = (marks["end"] - marks["full"]) / 1e6
            if rate_limit:
                worst = max(worst, growth)
            print(
                f"{label:>44} {collector:>10} {growth:>10.2f} {plateau:>10.2f}"
                f" {marks['seconds']:>8.1f}"
            )
    server.shutdown()
    verdict = "within" if worst < BUDGET_MB else "OVER"
    print(f"storm control on: largest growth {worst:.2f} MB, {verdict} the {BUDGET_MB:.0f} MB")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
