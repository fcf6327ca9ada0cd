"""Pools, processes and asyncio contexts, as whole programs against an OTLP/HTTP receiver.

Each program exports with minute-long schedules (see ``tests/test_sources_e2e.py``), so what
reaches the receiver was flushed by threadcrash or by the providers' shutdown at exit. Every
count is exact: one report per lost exception, none for retrieved, cancelled or successful
futures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import our_frames
from tests.otlp_receiver import OtlpReceiver
from tests.test_sources_e2e import ERROR, FATAL, run_child

pytestmark = pytest.mark.slow

FUTURES = """
import concurrent.futures as cf, gc

def boom(message):
    raise ValueError(message)

def main():
    kept = []
    with cf.ThreadPoolExecutor(max_workers=2, thread_name_prefix="orders") as pool:
        lost = pool.submit(boom, "collected")
        read = pool.submit(boom, "read")
        fine = pool.submit(int, "1")
        cf.wait([lost, read, fine], timeout=10)
        try:
            read.result()
        except ValueError:
            pass
        gate = __import__("threading").Event()
        busy = [pool.submit(gate.wait, 10) for _ in range(2)]
        cancelled = pool.submit(boom, "cancelled")
        assert cancelled.cancel()
        gate.set()
        kept.append(pool.submit(boom, "kept until exit"))
        cf.wait(kept + busy, timeout=10)
    del lost, read, fine, cancelled, busy
    gc.collect()
    return kept

KEPT = main()  # a module global: still alive at exit
print("done", flush=True)
"""


def spans_of(receiver: OtlpReceiver, source: str) -> list[dict[str, Any]]:
    return [
        span
        for span in receiver.spans("threadcrash.crash")
        if span["attributes"]["threadcrash.source"] == source
    ]


def message(span: dict[str, Any]) -> str:
    return str(span["events"][0]["attributes"]["exception.message"])


def stacktrace(span: dict[str, Any]) -> str:
    return str(span["events"][0]["attributes"]["exception.stacktrace"])


@pytest.mark.parametrize("mode", ["on", "env"])
def test_unretrieved_futures_one_report_each_and_the_kept_one_at_exit(
    tmp_path: Path, mode: str
) -> None:
    """A collected failed future and one kept alive to exit are reported; nothing else is."""
    body = FUTURES
    if mode == "env":  # threadcrash builds the providers: its exit hook shuts them down
        body = "import threadcrash\nthreadcrash.instrument()\n" + FUTURES
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver, mode="on" if mode == "on" else "off")
        spans = spans_of(receiver, "future")
        logs = receiver.logs("exception")
        total = receiver.metric_total("threadcrash.crashes")
    assert result.returncode == 0, result.stderr
    assert sorted(message(span) for span in spans) == ["collected", "kept until exit"]
    assert len(receiver.spans("threadcrash.crash")) == 2
    assert all(span["attributes"]["thread.name"].startswith("orders_") for span in spans)
    assert len(logs) == 2
    assert all(log["severity_number"] == ERROR for log in logs)
    assert total == 2


FORKED = """
import concurrent.futures as cf, os

KEPT = cf.Future()
KEPT.set_exception(ValueError("kept across fork"))  # unread, alive at fork and at exit
pid = os.fork()
if pid == 0:
    own = cf.Future()
    own.set_exception(ValueError("the child's own"))
    del own
    raise SystemExit(0)  # a normal exit: the child's exit steps run
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
print("done", flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_failure_alive_at_fork_is_reported_by_the_parent_only(tmp_path: Path) -> None:
    """A forked child reports its own lost failures, never those it inherited from its parent."""
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, FORKED, receiver, mode="on")
        spans = spans_of(receiver, "future")
        points = receiver.metric_points("threadcrash.crashes")
    assert result.returncode == 0, result.stderr
    assert sorted(message(span) for span in spans) == ["kept across fork", "the child's own"]
    latest = {point["resource"]["service.instance.id"]: point["value"] for point in points}
    assert sorted(latest.values()) == [1, 1]  # one crash counted by each process


def test_a_process_pool_failure_carries_the_remote_traceback(tmp_path: Path) -> None:
    """A ProcessPoolExecutor job nobody read is one report with the worker's traceback text."""
    body = """
    import concurrent.futures as cf, gc, multiprocessing

    def remote_boom():
        raise KeyError("in the worker process")

    if __name__ == "__main__":
        context = multiprocessing.get_context("forkserver")
        with cf.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            lost = pool.submit(remote_boom)
            read = pool.submit(remote_boom)
            cf.wait([lost, read], timeout=30)
            assert read.exception() is not None
        del lost, read
        gc.collect()
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver)
        spans = spans_of(receiver, "future")
        total = receiver.metric_total("threadcrash.crashes")
    assert result.returncode == 0, result.stderr
    (span,) = spans
    assert span["attributes"]["exception.type"] == "KeyError"
    assert "thread.name" not in span["attributes"]
    assert 'raise KeyError("in the worker process")' in stacktrace(span)
    assert "in remote_boom" in stacktrace(span)
    assert total == 1


def test_multiprocessing_pool_results_nobody_gets(tmp_path: Path) -> None:
    """apply_async() and map_async() failures never get() are one report each; get() is none."""
    body = """
    import gc, multiprocessing

    def divide(n):
        return 1 // n

    if __name__ == "__main__":
        with multiprocessing.get_context("fork").Pool(2) as pool:
            lost = pool.apply_async(divide, (0,))
            lost_map = pool.map_async(divide, [1, 0, 0])
            read = pool.apply_async(divide, (0,))
            fine = pool.apply_async(divide, (1,))
            for item in (lost, lost_map, read, fine):
                item.wait(30)
            try:
                read.get()
            except ZeroDivisionError:
                pass
            del lost, lost_map, read, fine
            gc.collect()
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver)
        spans = spans_of(receiver, "future")
        total = receiver.metric_total("threadcrash.crashes")
    assert result.returncode == 0, result.stderr
    assert [span["attributes"]["exception.type"] for span in spans] == [
        "ZeroDivisionError",
        "ZeroDivisionError",
    ]
    assert total == 2


def test_a_process_pool_failure_read_by_get_and_kept_stripped_is_not_reported(
    tmp_path: Path,
) -> None:
    """get() read a process pool's failure: keeping it without its traceback is no loss."""
    body = """
    import gc, multiprocessing

    def divide(n):
        return 1 // n

    if __name__ == "__main__":
        with multiprocessing.get_context("fork").Pool(1) as pool:
            read = pool.apply_async(divide, (0,))
            read.wait(30)
            try:
                read.get()
            except ZeroDivisionError as error:
                kept = error.with_traceback(None)
            del read
            gc.collect()
        print("kept", type(kept).__name__, flush=True)
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver)
        spans = spans_of(receiver, "future")
    assert result.returncode == 0, result.stderr
    assert "kept ZeroDivisionError" in result.stdout
    assert spans == []


PROCESS = """
import multiprocessing

def target():
    raise RuntimeError("the child gave up")

if __name__ == "__main__":
    import threadcrash
    threadcrash.instrument()  # from the environment; a spawned child is set up by the parent
    from opentelemetry import trace
    context = multiprocessing.get_context(sys.argv[2])
    child = context.Process(target=target, name="ledger-worker")
    # the request's span, as a propagator would make it current (threadcrash's own providers
    # are private, so the application's tracer is the API's no-op one here)
    batch = trace.NonRecordingSpan(
        trace.SpanContext(0x5EED, 0xBA7C, is_remote=False, trace_flags=trace.TraceFlags(1))
    )
    with trace.use_span(batch):
        child.start()
    child.join(30)
    trace_id = format(batch.get_span_context().trace_id, "032x")
    print(os.getpid(), child.pid, child.exitcode, trace_id, flush=True)
"""


@pytest.mark.mutants
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_a_process_whose_target_raises_reports_from_the_child(tmp_path: Path, method: str) -> None:
    """Under every start method, the child's crash arrives once, from the child, with its name."""
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, PROCESS, receiver, mode="off", args=(method,))
        spans = spans_of(receiver, "process")
        logs = receiver.logs("exception")
        points = receiver.metric_points("threadcrash.crashes")
        total = receiver.metric_total("threadcrash.crashes")
    assert result.returncode == 0, result.stderr
    *pids, trace_id = result.stdout.split()
    parent_pid, child_pid, exitcode = map(int, pids)
    assert exitcode == 1
    assert "Process ledger-worker:" in result.stderr
    assert "RuntimeError: the child gave up" in result.stderr
    assert our_frames(result.stderr) == [] or sys.version_info < (3, 11)
    (span,) = spans
    assert span["attributes"]["threadcrash.process.name"] == "ledger-worker"
    assert span["trace_id"] == trace_id  # in the trace that started the process
    assert span["resource"]["process.pid"] == child_pid != parent_pid
    (log,) = logs
    assert log["severity_number"] == FATAL
    assert log["body"] == "the child gave up"
    assert total == 1  # a cumulative series may be exported twice (our flush, then atexit)
    assert {point["resource"]["process.pid"] for point in points} == {child_pid}


@pytest.mark.mutants
def test_system_exit_in_a_process_is_not_a_crash(tmp_path: Path) -> None:
    """A target that calls sys.exit(3) ends with exit code 3 and no report."""
    body = PROCESS.replace('raise RuntimeError("the child gave up")', "sys.exit(3)")
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver, mode="off", args=("fork",))
        spans = receiver.spans("threadcrash.crash")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[2] == "3"
    assert spans == []


@pytest.mark.mutants
def test_a_thread_crash_in_a_forked_child_is_exported_before_os_exit(tmp_path: Path) -> None:
    """A forked child ends by os._exit, and its thread crash still arrives."""
    body = """
    import multiprocessing

    def target():
        def run():
            raise LookupError("worker thread in the child")
        thread = threading.Thread(target=run, name="child-thread")
        thread.start()
        thread.join()

    if __name__ == "__main__":
        child = multiprocessing.get_context("fork").Process(target=target)
        child.start()
        child.join(30)
        print(child.pid, child.exitcode, flush=True)
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver)
        spans = receiver.spans("threadcrash.crash")
        total = receiver.metric_total("threadcrash.crashes")
    assert result.returncode == 0, result.stderr
    child_pid, exitcode = map(int, result.stdout.split())
    assert exitcode == 0
    (span,) = spans
    assert span["attributes"]["threadcrash.source"] == "thread"
    assert span["attributes"]["thread.name"] == "child-thread"
    assert span["resource"]["process.pid"] == child_pid
    assert total == 1


def test_asyncio_crashes_join_the_trace_that_created_them(tmp_path: Path) -> None:
    """A task, a callback and an executor job that fail unobserved land in the request's trace."""
    body = """
    import asyncio, concurrent.futures as cf, gc
    from opentelemetry import trace

    tracer = tracer_provider.get_tracer("app")

    async def failing_task():
        raise KeyError("task")

    def failing_job():
        raise ValueError("job")

    async def main():
        loop = asyncio.get_running_loop()
        pool = cf.ThreadPoolExecutor(thread_name_prefix="exec")
        with tracer.start_as_current_span("request") as request:
            job = loop.run_in_executor(pool, failing_job)
            task = asyncio.ensure_future(failing_task())
            loop.call_soon(lambda: 1 / 0)
        await asyncio.wait([job, task], timeout=10)
        await asyncio.sleep(0.01)
        del job, task
        gc.collect()
        pool.shutdown()
        print(format(request.get_span_context().trace_id, "032x"), flush=True)

    asyncio.run(main())
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver)
        spans = spans_of(receiver, "asyncio")
        total = receiver.metric_total("threadcrash.crashes")
    assert result.returncode == 0, result.stderr
    trace_id = result.stdout.strip()
    by_type = {span["attributes"]["exception.type"]: span for span in spans}
    assert len(spans) == 3
    assert total == 3
    assert by_type["ValueError"]["attributes"]["thread.name"].startswith("exec_")
    in_request = {name for name, span in by_type.items() if span["trace_id"] == trace_id}
    expected = {"ValueError", "ZeroDivisionError"}
    if sys.version_info >= (3, 12):  # the task's own context is public from 3.12
        expected.add("KeyError")
    assert in_request == expected


@pytest.mark.mutants
def test_a_spawned_child_keeps_the_parents_redaction_and_filter(tmp_path: Path) -> None:
    """Redaction patterns and before_emit given as keywords reach a spawned child too."""
    body = """
    import dataclasses, multiprocessing

    def tag(record):
        return dataclasses.replace(record, extra={**record.extra, "team": "ledger"})

    def target():
        raise RuntimeError("charge failed for card=4111111111111111")

    if __name__ == "__main__":
        import threadcrash
        threadcrash.instrument(redact=[r"card=(?P<secret>\\d+)"], before_emit=tag)
        child = multiprocessing.get_context("spawn").Process(target=target)
        child.start()
        child.join(30)
        print(child.exitcode, flush=True)
    """
    with OtlpReceiver() as receiver:
        result = run_child(tmp_path, body, receiver, mode="off")
        spans = spans_of(receiver, "process")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]
    (span,) = spans
    assert span["attributes"]["team"] == "ledger"
    assert "4111111111111111" not in message(span)
    assert "4111111111111111" not in stacktrace(span)
