"""The ``future`` source: failed futures and pool results that nobody retrieved."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import gc
import multiprocessing.pool
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import threadcrash
from tests.otel import Otel
from threadcrash._sources import _future


class Payload:
    """An object that can be weakly referenced, kept in a failing task's frame."""


def boom() -> None:
    raise ValueError("nobody looked")


def ok() -> int:
    return 1


@pytest.fixture
def pool(otel: Otel) -> Iterator[cf.ThreadPoolExecutor]:
    """A thread pool with threadcrash instrumented on the in-memory providers."""
    threadcrash.instrument(**otel.providers)
    with cf.ThreadPoolExecutor(max_workers=2, thread_name_prefix="orders") as executor:
        yield executor


def settle(future: cf.Future[Any]) -> None:
    """Wait for ``future`` without retrieving its outcome (bounded)."""
    done, _ = cf.wait([future], timeout=10)
    assert future in done


def raised(call: Callable[[], object]) -> str:
    """The name of the exception ``call`` raised."""
    try:
        call()
    except Exception as error:
        return type(error).__name__
    raise AssertionError("no exception")


def reports(otel: Otel, source: str = "future") -> list[dict[str, Any]]:
    """The attributes of each crash span from ``source``, with its exception event's."""
    found = []
    for span in otel.spans():
        attributes = dict(span.attributes or {})
        for event in span.events:
            attributes.update(event.attributes or {})
        if attributes.get("threadcrash.source") == source:
            found.append(attributes)
    return found


def test_a_failed_future_nobody_reads_is_reported_when_collected(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """A task that raises while nobody looks at its future is reported once the future is gone."""
    future = pool.submit(boom)
    settle(future)
    assert reports(otel) == []
    del future
    (attributes,) = reports(otel)
    assert attributes["exception.type"] == "ValueError"
    assert attributes["exception.message"] == "nobody looked"
    assert attributes["code.function.name"] == "boom"
    assert attributes["thread.name"].startswith("orders_")
    assert len(otel.logs()) == 1
    assert otel.total() == 1


def test_the_thread_is_the_worker_that_raised_not_the_one_dropping_the_future(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """Thread attributes name the pool's worker, even when another thread drops the future."""
    future = pool.submit(boom)
    settle(future)
    holder = [future]
    del future
    dropper = pool.submit(holder.clear)
    dropper.result(timeout=10)
    (attributes,) = reports(otel)
    assert attributes["thread.name"].startswith("orders_")
    worker_ids = {thread.ident for thread in pool._threads}
    assert attributes["thread.id"] in worker_ids


@pytest.mark.parametrize(
    "retrieve",
    [
        pytest.param(lambda f: raised(f.result), id="result"),
        pytest.param(lambda f: f.exception(), id="exception"),
        pytest.param(lambda f: [raised(g.result) for g in cf.as_completed([f])], id="as_completed"),
    ],
)
def test_a_retrieved_failure_is_not_reported(
    pool: cf.ThreadPoolExecutor, otel: Otel, retrieve: Callable[[cf.Future[Any]], object]
) -> None:
    """Reading the exception through result(), exception() or as_completed() is not a loss."""
    future = pool.submit(boom)
    settle(future)
    retrieve(future)
    del future
    gc.collect()
    assert reports(otel) == []
    assert otel.total() == 0


def test_result_waiting_before_the_failure_retrieves_it(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """result() called while the task still runs, woken by its failure, counts as retrieval."""
    import threading

    started = threading.Event()
    release = threading.Event()

    def slow_boom() -> None:
        started.set()
        release.wait(10)
        raise ValueError("later")

    future = pool.submit(slow_boom)
    started.wait(10)
    threading.Timer(0.05, release.set).start()
    with pytest.raises(ValueError, match="later"):
        future.result(timeout=10)
    del future
    gc.collect()
    assert reports(otel) == []


def test_a_done_callback_that_reads_the_exception_retrieves_it(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """A done-callback calling exception() (run on the worker thread) counts as retrieval."""
    seen: list[str] = []
    future = pool.submit(boom)
    future.add_done_callback(lambda f: seen.append(type(f.exception()).__name__))
    settle(future)
    del future
    gc.collect()
    assert seen == ["ValueError"]
    assert reports(otel) == []


def test_iterating_map_retrieves_the_failure(pool: cf.ThreadPoolExecutor, otel: Otel) -> None:
    """executor.map() raising in the loop that iterates it is not a lost exception."""

    def maybe(number: int) -> int:
        if number == 2:
            raise ValueError("two")
        return number

    with pytest.raises(ValueError, match="two"):
        list(pool.map(maybe, range(4)))
    gc.collect()
    assert reports(otel) == []


def test_successful_and_cancelled_futures_are_not_reported(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """Futures that succeeded or were cancelled are no crash, whether read or not."""
    import threading

    gate = threading.Event()
    blockers = [pool.submit(gate.wait, 10) for _ in range(2)]
    waiting = pool.submit(boom)
    assert waiting.cancel()
    gate.set()
    succeeded = pool.submit(ok)
    settle(succeeded)
    for blocker in blockers:
        settle(blocker)
    del waiting, succeeded, blockers
    gc.collect()
    assert reports(otel) == []
    assert otel.total() == 0


def test_the_parent_is_the_span_current_at_submit(pool: cf.ThreadPoolExecutor, otel: Otel) -> None:
    """The crash span sits in the trace of the request that submitted the task."""
    tracer = otel.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("handle order") as request:
        future = pool.submit(boom)
    settle(future)
    del future
    (span,) = otel.spans()
    assert span.parent is not None
    assert span.parent.span_id == request.get_span_context().span_id
    assert span.context.trace_id == request.get_span_context().trace_id


def test_no_parent_without_a_span_at_submit(pool: cf.ThreadPoolExecutor, otel: Otel) -> None:
    """A task submitted outside any span starts a new trace."""
    future = pool.submit(boom)
    settle(future)
    del future
    (span,) = otel.spans()
    assert span.parent is None


def test_a_failure_in_a_reference_cycle_is_reported_when_the_cycle_is_collected(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """A future that its own task's frame refers to (a cycle) is still reported by the GC."""

    def raise_with_future_in_a_local(holder: list[cf.Future[Any]]) -> None:
        raise ValueError("cyclic")  # this frame's local refers to the future, and it to us

    holder: list[cf.Future[Any]] = []
    future = pool.submit(raise_with_future_in_a_local, holder)
    holder.append(future)
    settle(future)
    del future, holder
    assert reports(otel) == []
    gc.collect()
    (attributes,) = reports(otel)
    assert attributes["exception.message"] == "cyclic"


def _alive_after_dropping_a_failed_future(otel: Otel) -> tuple[list[str], int]:
    """Fail a task, drop its future with the collector off: what is still alive, and reports."""
    refs: dict[str, weakref.ref[Any]] = {}

    def leaky() -> None:
        local = Payload()
        refs["local"] = weakref.ref(local)
        raise ValueError("leaky")

    with cf.ThreadPoolExecutor(max_workers=1) as executor:
        future = executor.submit(leaky)
        settle(future)
    refs["future"] = weakref.ref(future)
    gc.collect()
    gc.disable()
    try:
        del future
        return [name for name, ref in refs.items() if ref() is not None], len(reports(otel))
    finally:
        gc.enable()


def test_nothing_is_held_after_the_report(otel: Otel) -> None:
    """After the report, nothing pins the exception's frames, their locals or the future."""
    threadcrash.instrument(**otel.providers)
    alive, reported = _alive_after_dropping_a_failed_future(otel)
    assert reported == 1
    assert alive == []


def test_without_threadcrash_the_same_objects_die(otel: Otel) -> None:
    """Control for the test above: the frames die the same way without threadcrash."""
    alive, _ = _alive_after_dropping_a_failed_future(otel)
    assert alive == []


def test_a_failure_still_alive_is_reported_by_drain(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """A failed future kept in a list is reported at exit (drain), once, and not again later."""
    kept = [pool.submit(boom)]
    settle(kept[0])
    assert _future.drain() == 1
    assert len(reports(otel)) == 1
    kept.clear()
    gc.collect()
    assert len(reports(otel)) == 1


def test_run_in_executor_nobody_awaits_is_one_report_naming_the_worker(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """An unawaited run_in_executor failure is one asyncio report naming the executor thread."""
    tracer = otel.tracer_provider.get_tracer("test")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with tracer.start_as_current_span("request"):
            job = loop.run_in_executor(pool, boom)
        await asyncio.wait([job], timeout=10)
        del job
        gc.collect()

    asyncio.run(main())
    gc.collect()
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["threadcrash.source"] == "asyncio"
    assert attributes["threadcrash.asyncio.message"] == "Future exception was never retrieved"
    assert str(attributes["thread.name"]).startswith("orders_")
    assert span.parent is not None
    assert otel.total() == 1


def test_run_in_executor_awaited_is_not_reported(pool: cf.ThreadPoolExecutor, otel: Otel) -> None:
    """Awaiting the executor job retrieves its failure: nothing is reported."""

    async def main() -> None:
        with pytest.raises(ValueError, match="nobody looked"):
            await asyncio.get_running_loop().run_in_executor(pool, boom)

    asyncio.run(main())
    gc.collect()
    assert otel.spans() == []
    assert otel.total() == 0


INTERPRETER_POOL: Any = getattr(cf, "InterpreterPoolExecutor", None)  # 3.14+


@pytest.mark.skipif(INTERPRETER_POOL is None, reason="InterpreterPoolExecutor is new in 3.14")
def test_an_interpreter_pool_failure_nobody_reads_is_reported(otel: Otel) -> None:
    """A task that raised in a subinterpreter and was never read is reported, once, by worker."""
    threadcrash.instrument(**otel.providers)
    with INTERPRETER_POOL(max_workers=1, thread_name_prefix="interp") as executor:
        lost = executor.submit(boom)
        read = executor.submit(boom)
        cf.wait([lost, read], timeout=30)
        assert raised(read.result) == "ValueError"
        del lost, read
    gc.collect()
    (attributes,) = reports(otel)
    assert attributes["exception.type"] == "ValueError"
    assert attributes["exception.message"] == "nobody looked"
    assert attributes["thread.name"] == "interp_0"
    assert otel.total() == 1


def test_a_future_failed_by_hand_is_reported() -> None:
    """Any executor built on Future is covered: set_exception() called by your own code."""
    recorded: list[str] = []

    def before_emit(record: threadcrash.CrashRecord) -> None:
        recorded.append(f"{record.source}:{record.exception_type}")

    threadcrash.instrument(before_emit=before_emit, structlog=False)
    future: cf.Future[int] = cf.Future()
    future.set_exception(KeyError("by hand"))
    del future
    assert recorded == ["future:KeyError"]


def test_multiprocessing_thread_pool_result_nobody_gets_is_reported(otel: Otel) -> None:
    """An apply_async() / map_async() that failed and was never get() is reported, once each."""
    threadcrash.instrument(**otel.providers)
    with multiprocessing.pool.ThreadPool(2) as workers:
        lost = workers.apply_async(boom)
        lost_map = workers.map_async(lambda n: 1 // n, [1, 0, 2])
        read = workers.apply_async(boom)
        handled = workers.apply_async(boom, error_callback=lambda error: None)
        fine = workers.apply_async(ok)
        for result in (lost, lost_map, read, handled, fine):
            result.wait(10)
            assert result.ready()
        with pytest.raises(ValueError, match="nobody looked"):
            read.get()
        del lost, lost_map, read, handled, fine
    gc.collect()
    types = sorted(attributes["exception.type"] for attributes in reports(otel))
    assert types == ["ValueError", "ZeroDivisionError"]


def test_uninstrument_puts_the_methods_back() -> None:
    """After uninstrument(), Future and the pool results have CPython's own methods again."""
    before = {name: vars(cf.Future)[name] for name in ("__init__", "exception", "set_exception")}
    threadcrash.instrument(structlog=False)
    assert vars(cf.Future)["set_exception"] is not before["set_exception"]
    assert "__del__" in vars(cf.Future)
    assert "__del__" in vars(multiprocessing.pool.ApplyResult)
    threadcrash.uninstrument()
    assert {name: vars(cf.Future)[name] for name in before} == before
    assert "__del__" not in vars(cf.Future)
    assert "__del__" not in vars(multiprocessing.pool.ApplyResult)


def test_a_reader_that_strips_the_traceback_is_not_reported(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """Code that reads result() and keeps the exception without its traceback lost nothing."""
    future = pool.submit(boom)
    settle(future)
    try:
        future.result()
    except ValueError as error:
        kept = error.with_traceback(None)
    del future
    gc.collect()
    assert str(kept) == "nobody looked"
    assert reports(otel) == []
    assert otel.total() == 0


def test_a_future_made_before_instrument_is_reported(otel: Otel) -> None:
    """A future created before instrument() that then fails unread is reported, no parent."""
    future: cf.Future[int] = cf.Future()
    threadcrash.instrument(**otel.providers)
    future.set_exception(KeyError("made early"))
    del future
    gc.collect()
    (attributes,) = reports(otel)
    assert attributes["exception.type"] == "KeyError"
    (span,) = otel.spans()
    assert span.parent is None


def test_set_exception_with_a_non_exception_behaves_as_without_threadcrash(otel: Otel) -> None:
    """A future given something that is not an exception stores it as CPython does, unreported."""
    threadcrash.instrument(**otel.providers)
    future: cf.Future[int] = cf.Future()
    future.set_exception("not an exception")  # type: ignore[arg-type]
    stored: object = future.exception()
    assert stored == "not an exception"
    del future
    gc.collect()
    assert otel.spans() == []


def test_a_second_set_exception_is_refused_and_the_first_failure_reported(otel: Otel) -> None:
    """set_exception() on a failed future raises as in CPython; the first failure is reported."""
    threadcrash.instrument(**otel.providers)
    future: cf.Future[int] = cf.Future()
    future.set_exception(KeyError("first"))
    with pytest.raises(cf.InvalidStateError):
        future.set_exception(ValueError("second"))
    del future
    gc.collect()
    (attributes,) = reports(otel)
    assert attributes["exception.type"] == "KeyError"


def test_a_cancelled_future_given_an_exception_is_not_reported(otel: Otel) -> None:
    """set_exception() on a cancelled future raises as in CPython, and nothing is reported."""
    threadcrash.instrument(**otel.providers)
    future: cf.Future[int] = cf.Future()
    assert future.cancel()
    with pytest.raises(cf.InvalidStateError):
        future.set_exception(ValueError("too late"))
    del future
    gc.collect()
    assert otel.spans() == []
    assert _future.drain() == 0


def test_the_source_can_be_turned_off(otel: Otel) -> None:
    """Without ``future`` in sources, an unread failed future is not reported."""
    threadcrash.instrument(**otel.providers, sources="thread")
    future: cf.Future[int] = cf.Future()
    future.set_exception(KeyError("off"))
    del future
    assert otel.spans() == []
    assert otel.total() == 0


def test_result_raises_with_cpythons_own_traceback(pool: cf.ThreadPoolExecutor) -> None:
    """The traceback of result() shows no threadcrash frame: result() is not wrapped."""
    import traceback

    future = pool.submit(boom)
    settle(future)
    try:
        future.result()
    except ValueError as error:
        files = [frame.filename for frame in traceback.extract_tb(error.__traceback__)]
    own = [name for name in files if "threadcrash" in name]
    assert own == []


def test_a_task_reraising_another_futures_exception_is_still_reported(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """A task that lets an inner future's result() raise, and nobody reads it, is reported."""
    inner = pool.submit(boom)
    settle(inner)

    def wait_for(future: cf.Future[Any]) -> None:
        future.result()  # the same exception, raised by result(), now this task's

    outer = pool.submit(wait_for, inner)
    settle(outer)
    del outer, inner
    gc.collect()
    (attributes,) = reports(otel)
    assert attributes["exception.message"] == "nobody looked"
    assert otel.total() == 1


def test_a_failure_read_by_result_and_kept_is_not_reported_at_exit(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """A failed future whose result() was read, still alive at exit, is no loss: drain skips it."""
    kept = [pool.submit(boom)]
    settle(kept[0])
    assert raised(kept[0].result) == "ValueError"
    assert _future.drain() == 0
    kept.clear()
    gc.collect()
    assert reports(otel) == []
