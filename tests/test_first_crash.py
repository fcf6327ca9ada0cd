"""Invisible until something breaks: real programs, with an endpoint set, before and after a crash.

Each test runs a program in a fresh interpreter with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at
a real OTLP/HTTP receiver on 127.0.0.1 (or at a port that refuses, or a listener that stalls),
and checks what the program saw of threadcrash, and what arrived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests import helpers
from tests.collectors import StalledCollector, refused_endpoint
from threadcrash import _run

from .otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

# Python 3.12 starts no thread from an atexit callback (3.13 does again)
THREADS_AT_ATEXIT = sys.version_info[:2] != (3, 12)

# what a program can see of us after instrument(), before anything crashed
LOOK_AROUND = """
import json, sys, threading
otel = sorted(name for name in sys.modules if name.startswith("opentelemetry"))
from opentelemetry import trace
print(json.dumps({
    "otel": otel,
    "threads": [thread.name for thread in threading.enumerate()],
    "sdk": sorted(name for name in sys.modules if name.startswith("opentelemetry.sdk")),
    "exporters": sorted(name for name in sys.modules if name.startswith("opentelemetry.exporter")),
    "asyncio": "asyncio" in sys.modules,
    "global": type(trace.get_tracer_provider()).__name__,
}), flush=True)
"""


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def clean_env(**extra: str) -> dict[str, str]:
    return helpers.clean_env(drop=("PYTHONPATH",), **extra)


def run(
    program: str, env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return helpers.run_python([*args, "-c", textwrap.dedent(program)], env, timeout=timeout)


def last_json(output: str) -> Any:
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture
def stalled() -> Iterator[StalledCollector]:
    collector = StalledCollector()
    yield collector
    collector.close()


# nothing before the first crash


def test_instrument_with_an_endpoint_starts_no_thread_and_imports_no_sdk() -> None:
    """With an endpoint set, instrument() leaves one thread, no SDK, no exporter, no asyncio."""
    program = "import threadcrash\nthreadcrash.instrument()\n" + LOOK_AROUND
    done = run(program, clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=refused_endpoint()))
    assert done.returncode == 0, done.stderr
    seen = last_json(done.stdout)
    assert seen == {
        "otel": [],
        "threads": ["MainThread"],
        "sdk": [],
        "exporters": [],
        "asyncio": False,
        "global": "ProxyTracerProvider",
    }
    assert done.stderr == ""


def test_threadcrash_run_is_as_quiet_before_the_first_crash() -> None:
    """Under `threadcrash run` with an endpoint: one thread and no SDK until something crashes."""
    env = _run.environment(clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=refused_endpoint()))
    done = run("import sys\nassert 'threadcrash' in sys.modules\n" + LOOK_AROUND, env)
    assert done.returncode == 0, done.stderr
    seen = last_json(done.stdout)
    assert seen["threads"] == ["MainThread"]
    assert seen["sdk"] == seen["exporters"] == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_fork_before_any_crash_raises_no_multithreading_warning() -> None:
    """A program run with -W error::DeprecationWarning forks after instrument() and lives on."""
    program = """
    import os, sys
    import threadcrash
    threadcrash.instrument()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child exited", os.waitstatus_to_exitcode(status), flush=True)
    """
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=refused_endpoint())
    done = run(program, env, "-W", "error::DeprecationWarning")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "child exited 0"
    assert "DeprecationWarning" not in done.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_once_a_crash_is_exported_no_thread_of_ours_stays(receiver: OtlpReceiver) -> None:
    """After the first crash went out, the program is single-threaded again and forks quietly."""
    program = """
    import os, threading, time
    import threadcrash
    threadcrash.instrument()
    worker = threading.Thread(target=lambda: 1 / 0, name="worker")
    worker.start()
    worker.join()
    deadline = time.monotonic() + 10
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    print([thread.name for thread in threading.enumerate()], flush=True)
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    """
    done = run(program, clean_env(**receiver.env()), "-W", "error::DeprecationWarning")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['MainThread']"
    assert len(receiver.spans("threadcrash.crash")) == 1
    assert receiver.metric_total("threadcrash.crashes") == 1


def test_the_global_tracer_provider_stays_untouched(receiver: OtlpReceiver) -> None:
    """After a crash is exported, the application's own spans still go nowhere."""
    program = """
    import threading
    import threadcrash
    from opentelemetry import trace
    threadcrash.instrument()
    worker = threading.Thread(target=lambda: 1 / 0, name="worker")
    worker.start()
    worker.join()
    trace.get_tracer("the-application").start_span("request").end()
    print(type(trace.get_tracer_provider()).__name__, flush=True)
    """
    done = run(program, clean_env(**receiver.env()))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ProxyTracerProvider"
    assert len(receiver.spans("threadcrash.crash")) == 1
    assert receiver.spans("request") == []
    assert receiver.metric_total("threadcrash.crashes") == 1


def test_a_crash_in_the_first_milliseconds_is_exported_whole(receiver: OtlpReceiver) -> None:
    """A thread that crashes right after instrument(): span, log record and counter all arrive."""
    program = """
    import threading, threadcrash
    threadcrash.instrument()
    worker = threading.Thread(target=lambda: {}["missing"], name="early")
    worker.start()
    worker.join()
    """
    done = run(program, clean_env(**receiver.env()))
    assert done.returncode == 0, done.stderr
    (span,) = receiver.spans("threadcrash.crash")
    assert span["attributes"]["thread.name"] == "early"
    (log,) = receiver.logs("exception")
    assert log["trace_id"] == span["trace_id"]
    (point,) = receiver.metric_points("threadcrash.crashes")
    assert point["value"] == 1
    assert point["exemplars"][0]["span_id"] == span["span_id"]
    assert "KeyError: 'missing'" in done.stderr


def test_fifty_first_crashes_at_once_build_one_set_and_count_exactly(
    receiver: OtlpReceiver,
) -> None:
    """50 threads crash together as the very first crashes: one set of providers, 50 of each."""
    program = """
    import gc, json, threading
    import threadcrash
    threadcrash.instrument(rate_limit=0, chain=False)
    barrier = threading.Barrier(50, timeout=30)

    def work():
        barrier.wait()
        raise ValueError("together")

    workers = [threading.Thread(target=work, name=f"worker-{i}") for i in range(50)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    kinds = (TracerProvider, MeterProvider, LoggerProvider)
    print(json.dumps([sum(isinstance(o, kind) for o in gc.get_objects()) for kind in kinds]))
    """
    done = run(program, clean_env(**receiver.env()))
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout) == [1, 1, 1]
    assert len(receiver.spans("threadcrash.crash")) == 50
    assert len(receiver.logs("exception")) == 50
    assert receiver.metric_total("threadcrash.crashes") == 50


def test_a_first_crash_during_interpreter_shutdown_is_exported(receiver: OtlpReceiver) -> None:
    """An atexit callback that raises after threadcrash's own exit step: still exported, in time.

    It runs once threadcrash has shut down at exit (and on Python 3.12 when no thread can start),
    so the first crash builds synchronous providers and exports from the hook itself. On 3.12 the
    SDK's logs module cannot even be imported then (it starts a thread), so the span and the
    counter arrive without the log record.
    """
    program = """
    import atexit

    def last_words():
        raise RuntimeError("at shutdown")

    atexit.register(last_words)  # before instrument(): runs after threadcrash's exit step
    import threadcrash
    threadcrash.instrument()
    """
    started = time.monotonic()
    done = run(program, clean_env(**receiver.env(THREADCRASH_FLUSH_TIMEOUT="3")))
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "RuntimeError: at shutdown" in done.stderr
    (span,) = receiver.spans("threadcrash.crash")
    assert span["attributes"]["threadcrash.source"] == "unraisable"
    if THREADS_AT_ATEXIT:
        (log,) = receiver.logs("exception")
        assert log["attributes"]["exception.message"] == "at shutdown"
    assert receiver.metric_total("threadcrash.crashes") == 1
    assert elapsed < 30


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_a_first_crash_in_a_forked_child_is_exported(receiver: OtlpReceiver) -> None:
    """The parent never crashed; its forked child's first crash is exported by the child."""
    program = """
    import os, threading
    import threadcrash
    threadcrash.instrument()
    pid = os.fork()
    if pid == 0:
        worker = threading.Thread(target=lambda: 1 / 0, name="child-worker")
        worker.start()
        worker.join()
    else:
        os.waitpid(pid, 0)
    """
    done = run(program, clean_env(**receiver.env()), "-W", "error::DeprecationWarning")
    assert done.returncode == 0, done.stderr
    (span,) = receiver.spans("threadcrash.crash")
    assert span["attributes"]["thread.name"] == "child-worker"
    assert receiver.metric_total("threadcrash.crashes") == 1


def test_asyncio_is_hooked_when_the_program_imports_it() -> None:
    """A program importing asyncio after instrument() still gets its lost task errors reported."""
    program = """
    import json, sys
    import threadcrash
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    threadcrash.instrument(tracer_provider=provider)
    before = "asyncio" in sys.modules
    import asyncio

    async def fail():
        raise KeyError("lost")

    async def main():
        asyncio.get_running_loop().create_task(fail())
        await asyncio.sleep(0.05)

    asyncio.run(main())
    import gc
    gc.collect()
    sources = [span.attributes["threadcrash.source"] for span in spans.get_finished_spans()]
    print(json.dumps({"before": before, "sources": sources}), flush=True)
    """
    done = run(program, clean_env())
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout) == {"before": False, "sources": ["asyncio"]}


# a fast exit


def test_exit_after_a_crash_with_a_refused_collector_is_fast() -> None:
    """Nothing listens at the endpoint: exit after a crash does not wait out flush_timeout."""
    program = """
    import threading, time, threadcrash
    threadcrash.instrument()
    worker = threading.Thread(target=lambda: 1 / 0)
    worker.start()
    worker.join()
    print(time.time(), flush=True)
    """
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=refused_endpoint(), THREADCRASH_FLUSH_TIMEOUT="20")
    done = run(program, env)
    ended = time.time()
    assert done.returncode == 0, done.stderr
    assert ended - float(done.stdout.strip()) < 5  # flush_timeout is 20 s; measured: ~0.1 s


@pytest.mark.skipif(
    not THREADS_AT_ATEXIT, reason="3.12: no thread at atexit, the bound is the export's timeout"
)
def test_exit_after_a_crash_with_a_stalled_collector_is_bounded(
    stalled: StalledCollector,
) -> None:
    """A collector that accepts and never answers costs flush_timeout at exit, not the export's."""
    program = """
    import threading, time, threadcrash
    threadcrash.instrument()
    worker = threading.Thread(target=lambda: 1 / 0)
    worker.start()
    worker.join()
    print(time.time(), flush=True)
    """
    env = clean_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=stalled.endpoint,
        OTEL_EXPORTER_OTLP_TIMEOUT="60",
        THREADCRASH_FLUSH_TIMEOUT="1",
    )
    done = run(program, env)
    ended = time.time()
    assert done.returncode == 0, done.stderr
    assert ended - float(done.stdout.strip()) < 20  # the export's own timeout is 60 s
    assert stalled.accepted  # it was tried


def test_exit_with_nothing_crashed_sends_nothing(stalled: StalledCollector) -> None:
    """No crash: nothing was built, so the collector never even sees a connection."""
    program = "import threadcrash\nthreadcrash.instrument()\nprint('done', flush=True)\n"
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=stalled.endpoint, THREADCRASH_FLUSH_TIMEOUT="20")
    done = run(program, env, timeout=15)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    time.sleep(0.2)  # a connection, had there been one, would have been accepted by now
    assert stalled.accepted == []
