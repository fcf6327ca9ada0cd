"""Hostile crashes in a real interpreter: every one counted, none escaping a hook.

Each kind runs in its own Python process with threadcrash on real SDK providers in front of
CPython's own hooks. The child prints what threadcrash emitted (the counter, the log records,
its internal errors); the test reads that and the child's stderr, where CPython's hook must
still have printed the original traceback.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import clean_env, run_python

pytestmark = pytest.mark.slow

MARK = "THREADCRASH-SUMMARY "
PRELUDE = textwrap.dedent(
    """
    import atexit, json, os, signal, sys, threading, time
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    import threadcrash
    from threadcrash import _internal

    internal = []
    _internal.add_listener(lambda where, text: internal.append(where))
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])

    def summary():
        total = 0
        data = reader.get_metrics_data()
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == "threadcrash.crashes":
                        total += sum(int(point.value) for point in metric.data.data_points)
        records = [dict(item.log_record.attributes) for item in logs.get_finished_logs()]
        print("THREADCRASH-SUMMARY " + json.dumps(
            {"count": total, "logs": records, "internal": internal}), flush=True)

    atexit.register(summary)
    OPTIONS = dict(rate_limit=0, tracer_provider=tracer_provider,
                   meter_provider=meter_provider, logger_provider=logger_provider)

    def crash_in_thread(exc, name=None):
        def run():
            raise exc
        thread = threading.Thread(target=run, name=name)
        thread.start()
        thread.join(30)
    """
)


def run_kind(tmp_path: Path, body: str) -> tuple[dict[str, Any], str, int]:
    """Run the prelude and ``body`` in a fresh interpreter: (summary, stderr, exit code).

    Lines the child prints before its summary are added to it under ``stdout``.
    """
    script = tmp_path / "child.py"
    script.write_text(PRELUDE + textwrap.dedent(body), encoding="utf-8")
    result = run_python(
        [str(script)], clean_env(PYTHONPATH=str(tmp_path)), timeout=120, cwd=tmp_path
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARK)]
    assert len(lines) == 1, (result.stdout, result.stderr)
    summary = json.loads(lines[0][len(MARK) :])
    summary["stdout"] = [line for line in result.stdout.splitlines() if not line.startswith(MARK)]
    return summary, result.stderr, result.returncode


HOSTILE_CLASS = """
class Hostile(Exception):
    @property
    def __class__(self):
        raise {error}
"""


@pytest.mark.parametrize("error", ["RuntimeError('no class')", "KeyboardInterrupt"])
def test_a_class_property_that_raises(tmp_path: Path, error: str) -> None:
    """A raising ``__class__`` (even ``KeyboardInterrupt``): counted, reported, still printed."""
    summary, stderr, code = run_kind(
        tmp_path,
        HOSTILE_CLASS.format(error=error)
        + """
threadcrash.instrument(**OPTIONS)
crash_in_thread(Hostile("bad class"), name="worker")
print("main done")
""",
    )
    assert code == 0
    assert summary["count"] == 1
    [log] = summary["logs"]
    assert log["exception.type"] == "__main__.Hostile"
    assert log["thread.name"] == "worker"
    assert "Exception in thread worker:" in stderr
    assert "Hostile: bad class" in stderr


def test_notes_that_raise(tmp_path: Path) -> None:
    """A ``__notes__`` property that raises: one full report; CPython's hook still prints."""
    summary, stderr, code = run_kind(
        tmp_path,
        """
class Noted(Exception):
    @property
    def __notes__(self):
        raise RuntimeError("no notes")
threadcrash.instrument(**OPTIONS)
crash_in_thread(Noted("noted"))
""",
    )
    assert code == 0
    assert summary["count"] == 1
    [log] = summary["logs"]
    assert "Noted: noted" in log["exception.stacktrace"]
    assert "threadcrash.partial" not in log
    assert "Noted" in stderr
    assert summary["internal"] == []


def test_a_module_whose_loader_cannot_give_its_source(tmp_path: Path) -> None:
    """``__loader__.get_source`` raising: the frame has no source line; the crash is reported."""
    (tmp_path / "broken.py").write_text(
        textwrap.dedent(
            """
            class Loader:
                def get_source(self, name):
                    raise RuntimeError("no source for you")
            __loader__ = Loader()
            __spec__ = None  # linecache then asks __loader__
            def fail():
                raise ValueError("from a module without source")
            """
        ),
        encoding="utf-8",
    )
    summary, stderr, code = run_kind(
        tmp_path,
        """
import linecache
import broken
linecache.clearcache()
os.rename(broken.__file__, broken.__file__ + ".gone")  # only the loader could give the source
threadcrash.instrument(**OPTIONS)
thread = threading.Thread(target=broken.fail)
thread.start()
thread.join(30)
""",
    )
    assert code == 0
    assert summary["count"] == 1
    [log] = summary["logs"]
    assert log["exception.type"] == "ValueError"
    assert "in fail" in log["exception.stacktrace"]
    assert "from a module without source" in stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [("12345", "12345"), ("b'\\xffworker'", "\\xffworker"), ("Raises()", None)],
    ids=["int", "bytes", "property-raises"],
)
def test_a_thread_whose_name_is_not_a_string(
    tmp_path: Path, name: str, expected: str | None
) -> None:
    """A name that is an int, bytes, or a raising property: each of two crashes is counted."""
    if expected is not None and sys.version_info >= (3, 14):
        # threading names the OS thread from 3.14: set_name() raises TypeError in the new thread
        # before start() is told it started, so start() never returns, with or without us
        pytest.skip("CPython 3.14+ cannot start a thread whose name is not a str")
    summary, stderr, code = run_kind(
        tmp_path,
        f"""
class Raises:
    pass
class Odd(threading.Thread):
    def run(self):
        raise ValueError("odd thread")
threadcrash.instrument(**OPTIONS)
for _ in range(2):
    thread = Odd()
    if isinstance({name}, Raises):
        type(thread).name = property(lambda self: 1 / 0)
    else:
        thread._name = {name}
    thread.start()
    thread.join(30)
""",
    )
    # a raising name also breaks CPython's own hook, which threading then hands to
    # sys.excepthook: reported there too, with source "main"
    thread_logs = [log for log in summary["logs"] if log["threadcrash.source"] == "thread"]
    assert len(thread_logs) == 2
    assert summary["count"] == len(summary["logs"])
    for log in thread_logs:
        assert log["exception.type"] == "ValueError"
        assert log.get("thread.name") == expected
        assert isinstance(log["thread.id"], int)
    assert summary["internal"] == []
    assert code == 0
    if expected is not None:  # a raising name breaks CPython's own printing of the crash
        assert stderr.count("ValueError: odd thread") == 2


def test_a_str_that_is_slow_is_called_once_per_report(tmp_path: Path) -> None:
    """A ``__str__`` that costs: threadcrash calls it once per exception object per report."""
    summary, _, code = run_kind(
        tmp_path,
        """
calls = []
class Slow(Exception):
    def __str__(self):
        calls.append(1)
        return "slow"
threadcrash.instrument(chain=False, **OPTIONS)
try:
    try:
        raise Slow()
    except Slow as inner:
        raise Slow() from inner
except Slow as outer:
    crash_in_thread(outer)
print("STR-CALLS", len(calls))
""",
    )
    assert code == 0
    assert summary["count"] == 1
    [log] = summary["logs"]
    assert log["exception.message"] == "slow"
    assert summary["stdout"] == ["STR-CALLS 2"]  # the crash and its cause, once each


def test_a_keyboard_interrupt_during_the_main_thread_flush(tmp_path: Path) -> None:
    """Ctrl-C while the exit flush waits: the chained hook still prints the original crash."""
    summary, stderr, code = run_kind(
        tmp_path,
        """
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

class Interrupting:
    def export(self, spans):
        os.kill(os.getpid(), signal.SIGINT)  # the main thread is waiting in the flush
        time.sleep(2)
        return SpanExportResult.SUCCESS
    def shutdown(self):
        pass
    def force_flush(self, timeout_millis=30000):
        return True

batched = TracerProvider()
batched.add_span_processor(BatchSpanProcessor(Interrupting()))
threadcrash.instrument(**{**OPTIONS, "tracer_provider": batched, "flush_timeout": 10})
raise ValueError("the main thread died")
""",
    )
    assert code == 1
    assert "ValueError: the main thread died" in stderr
    assert "Traceback (most recent call last):" in stderr
    assert summary["count"] == 1
    assert summary["internal"] == ["flush"]


@pytest.mark.parametrize("error", ["RuntimeError('no class')", "KeyboardInterrupt"])
def test_a_hostile_exception_through_every_other_hook(tmp_path: Path, error: str) -> None:
    """``__del__``, an asyncio callback and a ``_thread`` thread: each crash counted once."""
    # asyncio's default handler logs the traceback, and CPython's traceback module itself
    # fails on such a class, threadcrash or not: the loop gets a handler of its own
    summary, stderr, code = run_kind(
        tmp_path,
        HOSTILE_CLASS.format(error=error)
        + """
import _thread, asyncio, gc
threadcrash.instrument(**OPTIONS)

class Doomed:
    def __del__(self):
        raise Hostile("from __del__")

Doomed()
gc.collect()

def callback():
    raise Hostile("from a callback")

if True:
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)
    loop.call_soon(callback)
    loop.call_soon(loop.stop)
    loop.run_forever()
    loop.close()

done = threading.Event()
def in_thread():
    try:
        raise Hostile("from _thread")
    finally:
        done.set()
_thread.start_new_thread(in_thread, ())
done.wait(30)
time.sleep(0.5)
""",
    )
    assert code == 0
    sources = sorted(log["threadcrash.source"] for log in summary["logs"])
    assert sources == ["asyncio", "unraisable", "unraisable"]
    assert summary["count"] == len(sources)
    assert "from __del__" in stderr
    assert "from _thread" in stderr
    assert summary["internal"] == []
