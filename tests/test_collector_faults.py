"""A collector that refuses, stalls or errors never holds a crashing thread; export resumes after.

Real OTLP/HTTP exporters behind the SDK's batch processors and periodic metric reader, as a
service runs them, pointed at a receiver on 127.0.0.1 that is in trouble.
"""

from __future__ import annotations

import gc
import logging
import socket
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
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
from tests.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

QUEUE = 256
EXPORT_TIMEOUT = 2.0


def free_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Pipeline:
    """SDK providers exporting over OTLP/HTTP to one port, and the hook's measured latencies."""

    providers: dict[str, Any]
    latencies: list[float] = field(default_factory=list)
    chained: list[str] = field(default_factory=list)  # type names: holding exceptions grows memory

    def crash_threads(self, count: int, message: str = "worker failed") -> None:
        """``count`` real threads crash one after another (each bounded in time)."""

        def crash() -> None:
            raise ValueError(message)

        for _ in range(count):
            thread = threading.Thread(target=crash)
            thread.start()
            thread.join(10)
            assert not thread.is_alive(), "a crashing thread was held"

    def flush(self, timeout: float = 10.0) -> None:
        for provider in self.providers.values():
            provider.force_flush(int(timeout * 1000))


@contextmanager
def pipeline(port: int, queue: int = QUEUE, **options: Any) -> Iterator[Pipeline]:
    """Threadcrash on batch OTLP/HTTP export to ``port``; the hook's wall time is recorded."""
    endpoint = f"http://127.0.0.1:{port}"
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=EXPORT_TIMEOUT),
            max_queue_size=queue,
            max_export_batch_size=min(64, queue),
            schedule_delay_millis=100,
            export_timeout_millis=int(EXPORT_TIMEOUT * 1000),
        )
    )
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", timeout=EXPORT_TIMEOUT),
            max_queue_size=queue,
            max_export_batch_size=min(64, queue),
            schedule_delay_millis=100,
            export_timeout_millis=int(EXPORT_TIMEOUT * 1000),
        )
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=EXPORT_TIMEOUT),
        export_interval_millis=200,
        export_timeout_millis=int(EXPORT_TIMEOUT * 1000),
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    state = Pipeline(
        {
            "tracer_provider": tracer_provider,
            "meter_provider": meter_provider,
            "logger_provider": logger_provider,
        }
    )

    def previous(args: Any) -> None:
        state.chained.append(args.exc_type.__name__)

    threading.excepthook = previous
    threadcrash.instrument(**options, **state.providers)
    ours = threading.excepthook

    def timed(args: Any) -> None:
        start = time.perf_counter()
        try:
            ours(args)
        finally:
            state.latencies.append(time.perf_counter() - start)

    threading.excepthook = timed
    try:
        yield state
    finally:
        threading.excepthook = ours
        threadcrash.uninstrument()
        threading.excepthook = threading.__excepthook__
        _shutdown_bounded(state.providers.values(), timeout=15)


def _shutdown_bounded(providers: Any, timeout: float) -> None:
    """Shut the providers down without letting a stuck exporter hang the test run."""
    done = threading.Event()

    def shutdown() -> None:
        for provider in providers:
            provider.shutdown()
        done.set()

    threading.Thread(target=shutdown, daemon=True).start()
    assert done.wait(timeout), "providers did not shut down in time"


def assert_never_held(state: Pipeline, count: int) -> None:
    """Every crash went through the hook quickly and reached the previous hook."""
    assert len(state.latencies) == count
    assert len(state.chained) == count
    median = statistics.median(state.latencies)
    worst = max(state.latencies)
    # Export stalls last seconds; the hook's own work is well under a millisecond. The bounds
    # leave room for a noisy shared machine while failing clearly on any wait for export.
    assert median < 0.005, f"median hook latency {median * 1e3:.2f} ms"
    assert worst < 0.25, f"slowest hook call {worst * 1e3:.1f} ms"


def wait_for(probe: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_unreachable_collector_then_it_comes_up() -> None:
    """Refused connections: crashes go through at full speed; when it comes up, export resumes."""
    port = free_port()
    with pipeline(port, rate_limit=0) as state:
        state.crash_threads(150)
        time.sleep(0.5)  # let the batch workers fail against the closed port
        state.crash_threads(50)
        assert_never_held(state, 200)
        with OtlpReceiver(bind_port=port) as receiver:
            state.crash_threads(5, message="after recovery")
            assert wait_for(
                lambda: any(log["body"] == "after recovery" for log in receiver.logs("exception")),
                timeout=15,
            ), "log export did not resume"
            assert wait_for(lambda: receiver.metric_total("threadcrash.crashes") == 205, 15)
            assert receiver.spans("threadcrash.crash")
            assert receiver.errors == []


@pytest.mark.parametrize("status", [500, 503])
def test_collector_answering_errors_then_recovering(status: int) -> None:
    """500/503 answers (retried with backoff by the exporter) never reach the crashing thread."""
    with OtlpReceiver(status=status) as receiver:
        with pipeline(receiver.port, rate_limit=0) as state:
            state.crash_threads(200)
            assert wait_for(lambda: len(receiver.requests("/v1/logs")) > 0, 10)
            assert_never_held(state, 200)
            receiver.status = 200
            state.crash_threads(5, message="after recovery")
            assert wait_for(
                lambda: any(log["body"] == "after recovery" for log in receiver.logs("exception")),
                timeout=15,
            ), "log export did not resume"
            assert wait_for(lambda: receiver.metric_total("threadcrash.crashes") == 205, 15)
        assert receiver.errors == []


def test_stalled_collector_then_recovering() -> None:
    """A collector that answers after 3 s: the hook stays fast; the counter arrives exact."""
    with OtlpReceiver(delay=3.0) as receiver, pipeline(receiver.port, rate_limit=0) as state:
        state.crash_threads(100)
        assert wait_for(lambda: len(receiver.requests("/v1/logs")) > 0, 10)
        state.crash_threads(100)  # while exports hang
        assert_never_held(state, 200)
        receiver.delay = 0.0
        state.crash_threads(5, message="after recovery")
        assert wait_for(
            lambda: any(log["body"] == "after recovery" for log in receiver.logs("exception")),
            timeout=20,
        ), "log export did not resume"
        assert wait_for(lambda: receiver.metric_total("threadcrash.crashes") == 205, 20)


def test_memory_stays_flat_while_the_collector_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queues full, collector down: 800 more crashes keep no more than the queues' bound.

    Each crash carries a 4 KB message (about 10 KB over its span and log record), so keeping
    them would grow by some 8 MB; the queues (16 records per signal, plus a batch in flight)
    bound what is held to a few hundred KB at any moment.
    """
    big = "x" * 4096
    port = free_port()
    # pytest's log capture would keep every "export failed" record, and through its traceback
    # the batch that failed: the exporters' loggers stay out of it here
    monkeypatch.setattr(logging.getLogger("opentelemetry"), "propagate", False)
    with pipeline(port, queue=16, rate_limit=0) as state:
        # traced from the start, so that what the bounded caches drop later is counted too;
        # collected before each reading, so that the exporters' failed attempts (cycles through
        # their tracebacks) do not count as kept
        tracemalloc.start()
        try:
            state.crash_threads(150, message=big)  # fill both queues to their bound
            gc.collect()
            before, _ = tracemalloc.get_traced_memory()
            state.crash_threads(800, message=big)
            gc.collect()
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        growth = after - before
        assert growth < 1_500_000, f"{growth} bytes kept by 800 crashes with the collector down"
        assert_never_held(state, 950)


def test_storm_control_and_a_failing_collector_keep_the_counts_exact() -> None:
    """Default storm control during a 503 outage: exact crash and suppressed counts arrive."""
    with OtlpReceiver(status=503) as receiver, pipeline(receiver.port) as state:
        state.crash_threads(300)
        assert wait_for(lambda: len(receiver.requests("/v1/metrics")) > 0, 10)
        assert_never_held(state, 300)
        receiver.status = 200
        assert wait_for(lambda: receiver.metric_total("threadcrash.crashes") == 300, 15)
        assert wait_for(lambda: receiver.metric_total("threadcrash.suppressed") == 290, 15)
        [point] = receiver.metric_points("threadcrash.suppressed")[-1:]
        assert point["attributes"] == {
            "error.type": "ValueError",
            "threadcrash.source": "thread",
            "threadcrash.reason": "rate_limit",
        }
