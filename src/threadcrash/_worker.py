"""Export off the crashing thread, from a thread that exists only while there is work.

The SDK's batch processors and periodic metric reader each keep a thread for the life of the
process: after the first crash a program would have three more threads forever (a test suite
counting its threads, or ``fork()`` under ``-W error``, would see them). The providers
threadcrash builds instead hand each span and log record, and the counter's export, to one
:class:`Worker`: a daemon thread started when a job arrives and gone once it has been idle for
``LINGER`` seconds. The SDK's simple processors do the exporting, in that thread.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk._logs.export import LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

from . import _fork
from ._internal import emission_guard, record_internal_error

LINGER = 0.05  # seconds a worker waits for more work before its thread ends
MAX_PENDING = 4096  # jobs kept while the collector is slow; the oldest go first

Job = Callable[[], object]

_workers: weakref.WeakSet[Worker] = weakref.WeakSet()


class Worker:
    """Runs jobs in order in one daemon thread, started on demand and ended when idle."""

    def __init__(self, name: str = "threadcrash-export", linger: float = LINGER) -> None:
        self._name = name
        self._linger = linger
        self._reset()
        _track(self)

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._jobs: deque[tuple[str | None, Job]] = deque()
        self._keys: set[str] = set()
        self._thread: threading.Thread | None = None
        self._running = 0

    def submit(self, job: Job, key: str | None = None) -> None:
        """Queue ``job``; with a ``key``, not again while one with that key is still queued.

        Where no thread can start (interpreter shutdown), the job waits for :meth:`drain`.
        """
        with self._cond:
            if key is not None:
                if key in self._keys:
                    return
                self._keys.add(key)
            if len(self._jobs) >= MAX_PENDING:  # a collector too slow for a storm: oldest out
                dropped, _ = self._jobs.popleft()
                self._keys.discard(dropped or "")
            self._jobs.append((key, job))
            self._cond.notify_all()
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            try:
                thread.start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                return
            self._thread = thread

    def _take(self) -> Job:
        key, job = self._jobs.popleft()
        if key is not None:
            self._keys.discard(key)
        self._running += 1
        return job

    def _call(self, job: Job) -> None:
        try:
            with emission_guard():  # an error in an exporter is ours, never a crash to report
                job()
        except Exception as error:
            record_internal_error("export", error)
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._jobs:
                    self._cond.wait(self._linger)
                    if not self._jobs:
                        self._thread = None
                        self._cond.notify_all()
                        return
                job = self._take()
            self._call(job)

    def drain(self, timeout: float) -> bool:
        """Wait until every queued job has run, at most ``timeout`` seconds; True if they all did.

        With no worker thread (none could start), the jobs run here.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._jobs or self._running:
                if self._thread is None and self._jobs and not self._running:
                    job = self._take()
                    self._cond.release()
                    try:
                        self._call(job)
                    finally:
                        self._cond.acquire()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True


class DeferredSpanProcessor(SpanProcessor):
    """Each ended span is exported by the SDK's simple processor, in the worker's thread."""

    def __init__(self, exporter: SpanExporter, worker: Worker) -> None:
        self._simple = SimpleSpanProcessor(exporter)
        self._worker = worker

    def on_end(self, span: Any) -> None:
        self._worker.submit(lambda: self._simple.on_end(span))

    def shutdown(self) -> None:
        self._worker.drain(30.0)  # bounded by the caller's own wait (flush_timeout)
        self._simple.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._worker.drain(timeout_millis / 1000)


class DeferredLogRecordProcessor(LogRecordProcessor):
    """Each log record is exported by the SDK's simple processor, in the worker's thread."""

    def __init__(self, exporter: LogRecordExporter, worker: Worker) -> None:
        self._simple = SimpleLogRecordProcessor(exporter)
        self._worker = worker

    def on_emit(self, log_record: Any) -> None:
        self._worker.submit(lambda: self._simple.on_emit(log_record))

    def shutdown(self) -> None:
        self._worker.drain(30.0)
        self._simple.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._worker.drain(timeout_millis / 1000)


def _track(worker: Worker) -> None:
    _workers.add(worker)
    _fork.in_child(_after_fork_in_child)


def _after_fork_in_child() -> None:
    # the parent's thread is not in the child, and its queue is the parent's to send
    for worker in list(_workers):
        worker._reset()
