"""Whole programs against an OTLP/HTTP receiver: every lost exception arrives, none lost at exit.

Each child builds SDK providers with batch processors and OTLP/HTTP exporters whose schedules
are a minute long, so whatever reaches the receiver was flushed by threadcrash or by the
providers' shutdown at exit, never by a timer.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import clean_env, our_frames, run_python
from tests.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

FATAL = 21  # SeverityNumber.FATAL
ERROR = 17

PRELUDE = textwrap.dedent(
    """
    import os, sys, threading, time
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    meter_provider = MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())]
    )
    if sys.argv[1] == "on":
        import threadcrash
        threadcrash.instrument(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            logger_provider=logger_provider,
        )
    """
)


def run_child(
    tmp_path: Path,
    body: str,
    receiver: OtlpReceiver | None,
    mode: str = "on",
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run PRELUDE + ``body`` in a fresh interpreter, exporting to ``receiver`` (bounded)."""
    script = tmp_path / "child.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    otel = receiver.env() if receiver is not None else {}
    slow_timers = {
        "OTEL_BSP_SCHEDULE_DELAY": "60000",
        "OTEL_BLRP_SCHEDULE_DELAY": "60000",
        "OTEL_METRIC_EXPORT_INTERVAL": "60000",
        "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel,process",
        "OTEL_SERVICE_NAME": "e2e-child",
    }
    return run_python(
        [str(script), mode, *args],
        clean_env(**{**otel, **slow_timers, **(env or {})}),
        cwd=tmp_path,
    )


def crash_spans(receiver: OtlpReceiver) -> list[dict[str, Any]]:
    return receiver.spans("threadcrash.crash")


def crash_logs(receiver: OtlpReceiver) -> list[dict[str, Any]]:
    return receiver.logs("exception")


def one_of_each(receiver: OtlpReceiver) -> tuple[dict[str, Any], dict[str, Any]]:
    """Exactly one crash span, one log record and a counter of exactly one; return span and log."""
    (span,) = crash_spans(receiver)
    (log,) = crash_logs(receiver)
    assert receiver.metric_total("threadcrash.crashes") == 1
    assert log["trace_id"] == span["trace_id"]
    assert receiver.errors == []
    return span, log


MAIN_CRASH = """
def handle():
    raise ValueError("main thread gave up")

handle()
"""


def test_main_thread_crash(tmp_path: Path) -> None:
    """A crash of the main thread is exported as FATAL; exit code and stderr are CPython's."""
    plain = run_child(tmp_path, MAIN_CRASH, None, mode="off")
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, MAIN_CRASH, receiver)
        span, log = one_of_each(receiver)
    assert plain.returncode == result.returncode == 1
    assert "ValueError: main thread gave up" in plain.stderr
    assert result.stderr == plain.stderr
    assert result.stdout == ""
    assert span["attributes"]["threadcrash.source"] == "main"
    assert span["attributes"]["thread.name"] == "MainThread"
    assert log["severity_number"] == FATAL
    assert log["severity_text"] == "FATAL"
    assert log["body"] == "main thread gave up"


def test_main_thread_crash_is_exported_before_the_previous_hook_runs(tmp_path: Path) -> None:
    """Even when the previous hook kills the process at once, every signal already left it."""
    body = """
    import os
    def previous(*args):
        sys.__excepthook__(*args)
        os._exit(7)  # no atexit, no provider shutdown: only threadcrash's flush can have sent
    sys.excepthook = previous
    threadcrash.uninstrument()
    threadcrash.instrument(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
    )
    raise ValueError("gone")
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver)
        _, log = one_of_each(receiver)
    assert result.returncode == 7
    assert result.stderr.endswith("ValueError: gone\n")
    assert log["severity_number"] == FATAL


def test_main_thread_crash_with_auto_configured_providers(tmp_path: Path) -> None:
    """``instrument()`` with only ``OTEL_*`` variables: the flush before CPython's hook works."""
    body = """
    import os
    import threadcrash
    def previous(*args):
        sys.__excepthook__(*args)
        os._exit(9)
    sys.excepthook = previous
    threadcrash.instrument()  # the providers built in the prelude are not used: mode "off"
    raise ValueError("configured by the environment")
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver, mode="off")
        span, log = one_of_each(receiver)
    assert result.returncode == 9
    assert result.stderr.endswith("ValueError: configured by the environment\n")
    assert span["resource"]["service.name"] == "e2e-child"
    assert log["severity_number"] == FATAL


def test_main_thread_crash_flush_is_bounded(tmp_path: Path) -> None:
    """A collector that never answers delays the exit by about ``flush_timeout``, no more."""
    import socket

    body = """
    import os
    def previous(*args):
        sys.__excepthook__(*args)
        os._exit(3)
    sys.excepthook = previous
    threadcrash.uninstrument()
    threadcrash.instrument(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        flush_timeout=0.5,
    )
    raise ValueError("nobody listens")
    """
    with socket.socket() as blackhole:  # accepts connections (backlog) and never replies
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        endpoint = f"http://127.0.0.1:{blackhole.getsockname()[1]}"
        start = time.monotonic()
        result = run_child(tmp_path, body, None, env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
        elapsed = time.monotonic() - start
    assert result.returncode == 3
    assert result.stderr.endswith("ValueError: nobody listens\n")
    assert elapsed < 8  # interpreter start-up plus 0.5 s, far below the exporters' 10 s timeout


def test_thread_started_with_start_new_thread(tmp_path: Path) -> None:
    """A ``_thread`` crash arrives once, as ``unraisable``, and CPython still prints it."""
    body = """
    import _thread
    reported = threading.Event()
    hook = sys.unraisablehook  # threadcrash's: the program's own wrapper calls it first
    def then_go_on(unraisable):
        hook(unraisable)
        reported.set()
    sys.unraisablehook = then_go_on
    def raw():
        raise OSError("raw thread died")
    _thread.start_new_thread(raw, ())
    reported.wait(10)
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver)
        span, log = one_of_each(receiver)
    assert result.returncode == 0
    assert "OSError: raw thread died" in result.stderr
    assert span["attributes"]["threadcrash.source"] == "unraisable"
    assert "thread started by" in log["attributes"]["threadcrash.unraisable.message"]
    assert log["severity_number"] == ERROR


ASYNCIO_CRASH = """
import asyncio, gc, weakref

async def fail():
    raise KeyError("order-17")

async def main():
    task = asyncio.ensure_future(fail())
    task.set_name("order-task")
    await asyncio.sleep(0.05)
    collected = weakref.ref(task)
    del task
    for _ in range(10):  # one collection may not find everything (3.14's collector)
        gc.collect()
        if collected() is None:
            break

{run}
"""


@pytest.mark.parametrize(
    "run",
    [
        pytest.param("asyncio.run(main())", id="standard"),
        pytest.param("import uvloop; uvloop.run(main())", id="uvloop"),
    ],
)
def test_unretrieved_task_exception(tmp_path: Path, run: str) -> None:
    """A task exception nobody retrieved arrives once, on the standard loop and on uvloop."""
    if "uvloop" in run:
        pytest.importorskip("uvloop")
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, ASYNCIO_CRASH.format(run=run), receiver)
        span, log = one_of_each(receiver)
    assert result.returncode == 0, result.stderr
    assert "Task exception was never retrieved" in result.stderr  # asyncio's own log, as before
    assert span["attributes"]["threadcrash.source"] == "asyncio"
    assert log["attributes"]["threadcrash.asyncio.task"] == "order-task"
    assert log["attributes"]["exception.type"] == "KeyError"


@pytest.mark.mutants
def test_segfault_is_reported_by_the_next_start(tmp_path: Path) -> None:
    """With the ``fatal`` source, a segfault is reported (with its thread dump) by the next run."""
    crash_dir = tmp_path / "crashes"
    body = """
    import ctypes
    if sys.argv[2:] == ["crash"]:
        def deep():
            ctypes.string_at(0)
        deep()
    """
    settings = {"THREADCRASH_SOURCES": "all", "THREADCRASH_CRASH_DIR": str(crash_dir)}
    with OtlpReceiver() as receiver:
        crashed = run_child(tmp_path, body, receiver, args=("crash",), env=settings)
        assert crashed.returncode != 0
        assert crashed.stderr == ""  # faulthandler wrote into the crash file instead
        assert len(list(crash_dir.iterdir())) == 1
        assert crash_spans(receiver) == []
        restarted = run_child(tmp_path, body, receiver, env=settings)
        assert restarted.returncode == 0, restarted.stderr
        span, log = one_of_each(receiver)
    assert list(crash_dir.iterdir()) == []
    assert span["attributes"]["threadcrash.source"] == "fatal"
    assert span["attributes"]["exception.type"] == "SIGSEGV"
    assert span["attributes"]["threadcrash.fatal.pid"] != span["resource"]["process.pid"]
    assert log["severity_number"] == FATAL
    stack = log["attributes"]["exception.stacktrace"]
    assert "in deep" in stack
    assert "Current thread" in stack
    if sys.version_info >= (3, 14):  # faulthandler adds the C stack, after the Python stacks
        assert stack.index("in deep") < stack.index("C stack trace")


def test_forked_worker_reports_its_own_crash_once(tmp_path: Path) -> None:
    """A forked child keeps the hooks, reports with its own pid, and nothing arrives twice."""
    body = """
    def crash(message):
        def run():
            raise RuntimeError(message)
        thread = threading.Thread(target=run, name="job")
        thread.start()
        thread.join()

    crash("parent crash")
    pid = os.fork()
    if pid == 0:
        crash("child crash")
        print("child", os.getpid(), flush=True)
        sys.exit(0)
    _, status = os.waitpid(pid, 0)
    print("parent", os.getpid(), os.waitstatus_to_exitcode(status), flush=True)
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver)
        spans = crash_spans(receiver)
        logs = crash_logs(receiver)
        points = receiver.metric_points("threadcrash.crashes")
    assert result.returncode == 0, result.stderr
    printed = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    child_pid = int(printed["child"][0])
    parent_pid, child_exit = map(int, printed["parent"])
    assert child_exit == 0
    by_pid = {span["resource"]["process.pid"]: span for span in spans}
    assert len(spans) == 2
    assert sorted(by_pid) == sorted([parent_pid, child_pid])
    assert by_pid[parent_pid]["events"][0]["attributes"]["exception.message"] == "parent crash"
    assert by_pid[child_pid]["events"][0]["attributes"]["exception.message"] == "child crash"
    assert sorted(log["body"] for log in logs) == ["child crash", "parent crash"]
    # the SDK's default resource gives each process its own service.instance.id
    instances = {item["resource"]["service.instance.id"] for item in (*spans, *logs, *points)}
    assert len(instances) == 2
    latest: dict[int, float] = {}
    for point in points:
        latest[point["resource"]["process.pid"]] = point["value"]
    assert latest == {parent_pid: 1, child_pid: 1}


def test_a_normal_exit_exports_every_crash(tmp_path: Path) -> None:
    """Crashes just before a normal exit are all exported by the shutdown at exit."""
    body = """
    def run():
        raise LookupError("late")
    for _ in range(3):
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver)
        assert len(crash_spans(receiver)) == 3
        assert len(crash_logs(receiver)) == 3
        assert receiver.metric_total("threadcrash.crashes") == 3
    assert result.returncode == 0


def test_daemon_threads_crashing_at_shutdown_neither_hang_nor_raise(tmp_path: Path) -> None:
    """Daemon threads that crash while the interpreter exits leave a clean, prompt exit."""
    body = """
    def crash_forever():
        while True:
            try:
                raise ValueError("still here")
            except ValueError:
                pass
            def die():
                raise ValueError("dying daemon")
            inner = threading.Thread(target=die, daemon=True)
            try:
                inner.start()
            except RuntimeError:
                return  # can't start threads at shutdown
            time.sleep(0.001)

    for _ in range(4):
        threading.Thread(target=crash_forever, daemon=True).start()
    time.sleep(0.2)
    """
    with OtlpReceiver() as receiver:
        start = time.monotonic()
        # not chained: CPython's hook printing from daemon threads at exit can itself abort
        # ("_enter_buffered_busy: could not acquire lock for <stderr>", seen under load)
        env = {"THREADCRASH_FLUSH_TIMEOUT": "1", "THREADCRASH_CHAIN": "false"}
        result = run_child(tmp_path, body, receiver, env=env)
        elapsed = time.monotonic() - start
        assert crash_spans(receiver)
    assert result.returncode == 0, result.stderr[-4000:]
    assert elapsed < 20
    assert our_frames(result.stderr) == []
    assert "Fatal Python error" not in result.stderr
    assert "Error in sys.excepthook" not in result.stderr


@pytest.mark.mutants
def test_segfault_of_a_forked_worker_is_reported_once_with_its_pid(tmp_path: Path) -> None:
    """A forked worker writes its own crash file; the parent's clean exit removes only its own."""
    crash_dir = tmp_path / "crashes"
    body = """
    import ctypes
    if sys.argv[2:] == ["crash"]:
        pid = os.fork()
        if pid == 0:
            ctypes.string_at(0)
        _, status = os.waitpid(pid, 0)
        print(pid, os.waitstatus_to_exitcode(status), flush=True)
    """
    settings = {"THREADCRASH_SOURCES": "all", "THREADCRASH_CRASH_DIR": str(crash_dir)}
    with OtlpReceiver() as receiver:
        forked = run_child(tmp_path, body, receiver, args=("crash",), env=settings)
        assert forked.returncode == 0, forked.stderr
        child_pid, child_exit = map(int, forked.stdout.split())
        assert child_exit < 0  # killed by its signal
        assert [path.name for path in crash_dir.iterdir()] == [f"e2e-child.{child_pid}.crash"]
        assert crash_spans(receiver) == []
        restarted = run_child(tmp_path, body, receiver, env=settings)
        assert restarted.returncode == 0, restarted.stderr
        span, _ = one_of_each(receiver)
    assert span["attributes"]["threadcrash.fatal.pid"] == child_pid
    assert list(crash_dir.iterdir()) == []
