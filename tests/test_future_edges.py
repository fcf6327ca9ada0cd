"""The ``future`` source's odd cases, in-process: reading twice, early futures, hostile parts."""

from __future__ import annotations

import concurrent.futures as cf
import gc
import inspect
import multiprocessing.pool
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import context as otel_context

import threadcrash
from tests.conftest import InternalErrors
from tests.otel import Otel
from tests.test_future_source import boom, raised, reports, settle
from threadcrash import _compat
from threadcrash._sources import _future

OURS = Path(threadcrash.__file__).resolve().parent


@pytest.fixture
def pool(otel: Otel) -> Iterator[cf.ThreadPoolExecutor]:
    """A thread pool with threadcrash instrumented on the in-memory providers."""
    threadcrash.instrument(**otel.providers)
    with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="orders") as executor:
        yield executor


class BrokenCause(Exception):
    """An exception whose ``__cause__`` cannot be read."""

    @property
    def __cause__(self) -> BaseException | None:  # type: ignore[override]
        raise RuntimeError("no cause for you")


def fail_with_broken_cause() -> None:
    raise BrokenCause("hostile")


def test_exception_can_be_read_twice(pool: cf.ThreadPoolExecutor, otel: Otel) -> None:
    """exception() called twice on a failed future returns the same exception; nothing reported."""
    future = pool.submit(boom)
    settle(future)
    first = future.exception()
    assert future.exception() is first
    del future, first
    gc.collect()
    assert reports(otel) == []


def test_a_future_failed_before_instrument_can_be_read_after(otel: Otel) -> None:
    """A future that failed before instrument() is read afterwards as usual, and not reported."""
    future: cf.Future[int] = cf.Future()
    future.set_exception(KeyError("early"))
    threadcrash.instrument(**otel.providers)
    assert isinstance(future.exception(), KeyError)
    del future
    gc.collect()
    assert reports(otel) == []


def test_a_pool_result_made_before_instrument_that_fails_unread_is_reported(otel: Otel) -> None:
    """An apply_async() result created before instrument() that then fails unread is reported."""
    release = threading.Event()

    def late_boom() -> None:
        release.wait(10)
        raise ValueError("made early")

    with multiprocessing.pool.ThreadPool(1) as workers:
        lost = workers.apply_async(late_boom)
        threadcrash.instrument(**otel.providers)
        release.set()
        lost.wait(10)
        assert lost.ready()
        del lost
    gc.collect()
    (attributes,) = reports(otel)
    assert attributes["exception.message"] == "made early"


def test_a_pool_results_parent_is_the_span_current_at_apply_async(otel: Otel) -> None:
    """An unread failed apply_async() lands in the trace of the request that called it."""
    threadcrash.instrument(**otel.providers)
    tracer = otel.tracer_provider.get_tracer("test")
    with multiprocessing.pool.ThreadPool(1) as workers:
        with tracer.start_as_current_span("handle order") as request:
            lost = workers.apply_async(boom)
        lost.wait(10)
        assert lost.ready()
        del lost
    gc.collect()
    (span,) = otel.spans()
    assert span.parent is not None
    assert span.parent.span_id == request.get_span_context().span_id


def test_pool_get_raises_with_cpythons_own_traceback(otel: Otel) -> None:
    """get() on a failed pool result shows the task's frames and no frame of threadcrash."""
    threadcrash.instrument(**otel.providers)
    with multiprocessing.pool.ThreadPool(1) as workers:
        result = workers.apply_async(boom)
        result.wait(10)
        try:
            result.get()
        except ValueError as error:
            frames = traceback.extract_tb(error.__traceback__)
    functions = [frame.name for frame in frames]
    ours = [frame for frame in frames if Path(frame.filename).resolve().is_relative_to(OURS)]
    assert "boom" in functions
    assert functions[0] == "test_pool_get_raises_with_cpythons_own_traceback"
    # before 3.11, a bare raise adds the frame it runs in: the wrapper's get() shows, once
    assert [frame.name for frame in ours] == ([] if sys.version_info >= (3, 11) else ["get"])


def test_the_report_carries_the_workers_native_thread_id(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """The crash names the worker by its native (OS) thread id too, as the thread source does."""
    future = pool.submit(boom)
    settle(future)
    del future
    (attributes,) = reports(otel)
    (worker,) = pool._threads
    assert attributes["threadcrash.thread.native_id"] == worker.native_id


def test_an_exception_with_a_broken_cause_can_still_be_read(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """exception() hands back an exception whose __cause__ raises, as without threadcrash."""
    future = pool.submit(fail_with_broken_cause)
    settle(future)
    assert type(future.exception()).__name__ == "BrokenCause"
    del future
    gc.collect()
    assert reports(otel) == []


def test_a_lost_failure_whose_cause_cannot_be_read_is_still_reported(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """An unread failure whose ``__cause__`` raises is reported, its chain ending there."""
    future = pool.submit(fail_with_broken_cause)
    settle(future)
    del future
    gc.collect()
    (report,) = reports(otel)
    assert report["exception.type"].endswith("BrokenCause")
    assert "hostile" in report["exception.stacktrace"]


def test_a_finalizer_that_cannot_report_notes_an_internal_error(
    pool: cf.ThreadPoolExecutor,
    otel: Otel,
    internal_errors: InternalErrors,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lost failure that cannot be reported is an internal error, never an error from the GC."""

    def broken(failure: object) -> None:
        raise RuntimeError("no thread facts")

    monkeypatch.setattr(_future, "thread_of", broken)
    future = pool.submit(boom)
    settle(future)
    del future
    gc.collect()
    (where, text), *_ = internal_errors.seen
    assert where == "future finalizer"
    assert "RuntimeError: no thread facts" in text
    assert reports(otel) == []
    assert reports(otel, "unraisable") == []


class BrokenRuntimeContext:
    """An OpenTelemetry runtime context whose current context cannot be read."""

    def get_current(self) -> Any:
        raise RuntimeError("no context here")


def test_a_broken_runtime_context_costs_the_parent_not_the_report(
    otel: Otel, internal_errors: InternalErrors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a runtime context that raises, a lost failure is still reported, without a parent."""
    threadcrash.instrument(**otel.providers)
    monkeypatch.setattr(otel_context, "_RUNTIME_CONTEXT", BrokenRuntimeContext())
    future: cf.Future[int] = cf.Future()
    monkeypatch.undo()
    future.set_exception(KeyError("lost"))
    del future
    gc.collect()
    (where, text), *_ = internal_errors.seen
    assert where == "future parent"
    assert "RuntimeError: no context here" in text
    (span,) = otel.spans()
    assert span.parent is None


def test_the_context_reader_is_looked_up_once(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once OpenTelemetry is imported, each new future reads the context in one call, no lookup."""
    lookups: list[object] = []
    original = _compat.context_reader

    def counting() -> Any:
        lookups.append(None)
        return original()

    monkeypatch.setattr(_compat, "context_reader", counting)
    threadcrash.instrument(**otel.providers)
    futures: list[cf.Future[int]] = [cf.Future() for _ in range(3)]
    assert len(lookups) == 1
    del futures


def test_a_forked_child_reports_its_own_failures_not_its_parents(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """What a forked child does first: the inherited failures stay the parent's, its own count."""
    inherited = [pool.submit(boom), pool.submit(boom)]
    cf.wait(inherited, timeout=10)
    _future._forget_inherited()  # what the fork handler runs in the child
    del inherited[0]
    gc.collect()
    assert reports(otel) == []
    future = pool.submit(boom)  # the same worker thread fails again, in the child
    settle(future)
    del future
    gc.collect()
    assert len(reports(otel)) == 1
    assert _future.drain() == 0  # at the child's exit: the other inherited one is not its own
    assert len(reports(otel)) == 1


def test_a_failed_pool_result_still_alive_is_reported_at_exit(otel: Otel) -> None:
    """In a process whose only failure is a pool result's, the result alive at exit is reported."""
    threadcrash.instrument(**otel.providers)
    _future._forget_inherited()  # start as a fresh process would: no task failed yet
    with multiprocessing.pool.ThreadPool(1) as workers:
        kept = [workers.apply_async(boom)]
        kept[0].wait(10)
        assert kept[0].ready()
        assert _future.drain() == 1
    assert raised(kept[0].get) == "ValueError"
    assert len(reports(otel)) == 1


def test_a_child_of_a_child_does_not_report_its_parents_failures(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """Forked twice: the grandchild leaves the child's failure to the child, as the child did."""
    _future._forget_inherited()  # the child
    kept = [pool.submit(boom)]
    settle(kept[0])
    _future._forget_inherited()  # the child forks again
    kept.append(pool.submit(boom))  # and the grandchild fails on its own
    settle(kept[1])
    assert _future.drain() == 1
    assert len(reports(otel)) == 1


def test_a_forked_child_whose_tasks_never_failed_pays_nothing_at_exit(
    pool: cf.ThreadPoolExecutor, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child inheriting a failure but failing nothing itself never walks the heap at exit."""
    kept = [pool.submit(boom)]
    settle(kept[0])
    _future._forget_inherited()  # the child
    walks: list[object] = []
    get_objects = gc.get_objects

    def walk() -> list[Any]:
        walks.append(None)
        return get_objects()

    monkeypatch.setattr(gc, "get_objects", walk)
    assert _future.drain() == 0
    assert walks == []


def test_a_failure_dropped_after_the_exit_report_is_not_reported(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """Once the failures alive at exit were reported, a later one is left to CPython's shutdown."""
    assert _future.drain() == 0  # the exit step, before the providers shut down
    future = pool.submit(boom)
    settle(future)
    del future
    gc.collect()
    assert reports(otel) == []


def test_a_del_another_library_gave_future_still_runs(otel: Otel) -> None:
    """A Future.__del__ set before instrument() still runs, and the lost failure is reported."""
    finalized: list[str] = []

    def theirs(self: cf.Future[Any]) -> None:
        finalized.append(type(self).__name__)

    cf.Future.__del__ = theirs  # type: ignore[attr-defined]
    try:
        threadcrash.instrument(**otel.providers)
        future: cf.Future[int] = cf.Future()
        future.set_exception(KeyError("lost"))
        del future
        gc.collect()
        threadcrash.uninstrument()
        assert vars(cf.Future)["__del__"] is theirs
    finally:
        del cf.Future.__del__  # type: ignore[attr-defined]
    assert finalized == ["Future"]
    (attributes,) = reports(otel)
    assert attributes["exception.type"] == "KeyError"


def snapshot_as_in_3_15(self: Any) -> tuple[bool, bool, Any, Any]:
    """``Future._get_snapshot()`` as CPython 3.15 has it: the outcome under one lock."""
    with self._condition:
        if self.cancelled():
            return True, True, None, None
        if not self.done():
            return False, False, None, None
        return True, False, self._result, self._exception


def test_asyncios_snapshot_read_of_a_failure_retrieves_it(
    otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where asyncio reads a future in one snapshot (3.15+), that read retrieves the failure."""
    if _compat.snapshot_method(cf.Future) is None:  # before 3.15: give Future the 3.15 method
        monkeypatch.setattr(cf.Future, _compat.SNAPSHOT, snapshot_as_in_3_15, raising=False)
    threadcrash.instrument(**otel.providers)
    try:
        with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="orders") as executor:
            failed: cf.Future[Any] = executor.submit(boom)
            fine: cf.Future[Any] = executor.submit(int)
            cf.wait([failed, fine], timeout=10)
            done, cancelled, _, exc = getattr(failed, _compat.SNAPSHOT)()
            assert getattr(fine, _compat.SNAPSHOT)() == (True, False, 0, None)
        assert (done, cancelled, type(exc)) == (True, False, ValueError)
        origin = _future.origin_of(exc)
        assert origin is not None
        assert str(origin.thread.name).startswith("orders_")
        del failed, fine, exc
        gc.collect()
        assert reports(otel) == []
    finally:
        threadcrash.uninstrument()  # puts the method back before monkeypatch removes it


def test_tools_that_unwrap_futures_methods_find_cpythons_own() -> None:
    """inspect.unwrap() on a patched Future method gives CPython's own; an added one has none."""
    originals = {name: vars(cf.Future)[name] for name in ("__init__", "set_exception")}
    threadcrash.instrument(structlog=False)
    for name, original in originals.items():
        assert inspect.unwrap(getattr(cf.Future, name)) is original
    assert not hasattr(vars(cf.Future)["__del__"], "__wrapped__")


def test_instrument_again_after_another_library_wrapped_future_init(otel: Otel) -> None:
    """Future.__init__ wrapped by another library across uninstrument(): failures still reported."""
    threadcrash.instrument(**otel.providers)
    ours = vars(cf.Future)["__init__"]

    def theirs(self: cf.Future[Any]) -> None:
        ours(self)

    cf.Future.__init__ = theirs  # type: ignore[method-assign,assignment]
    try:
        threadcrash.uninstrument()  # ours stays in the chain, inert
        threadcrash.instrument(**otel.providers)
        future: cf.Future[int] = cf.Future()
        future.set_exception(KeyError("lost"))
        del future
        gc.collect()
        (attributes,) = reports(otel)
        assert attributes["exception.type"] == "KeyError"
    finally:
        threadcrash.uninstrument()
        cf.Future.__init__ = ours  # type: ignore[method-assign]
        threadcrash.instrument(structlog=False)  # ours is installed again: now it is restored
        threadcrash.uninstrument()


class UnboundProxy:
    """A proxy that raises on every attribute while unbound, as a web framework's request does."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("working outside of a request")


def test_the_exit_report_walks_past_proxies_and_futures_made_before_instrument(
    pool: cf.ThreadPoolExecutor, otel: Otel
) -> None:
    """At exit, an unbound proxy or an old future alive beside a lost failure breaks nothing."""
    proxy = UnboundProxy()
    threadcrash.uninstrument()
    old: cf.Future[int] = cf.Future()  # made while threadcrash was off
    threadcrash.instrument(**otel.providers)
    kept = [pool.submit(boom)]
    settle(kept[0])
    assert _future.drain() == 1
    assert len(reports(otel)) == 1
    del proxy, old


def test_exception_with_a_timeout_still_times_out(otel: Otel) -> None:
    """exception(timeout=...) on a future still running raises TimeoutError, as in CPython."""
    threadcrash.instrument(**otel.providers)
    future: cf.Future[int] = cf.Future()
    outcome: list[str] = []

    def wait_briefly() -> None:
        outcome.append(raised(lambda: future.exception(timeout=0.05)))

    waiter = threading.Thread(target=wait_briefly)
    waiter.start()
    waiter.join(5)
    future.set_result(1)  # frees a waiter that ignored its timeout
    waiter.join(10)
    assert outcome == ["TimeoutError"]


def test_pool_get_with_a_timeout_still_times_out(otel: Otel) -> None:
    """get(timeout=...) on a pool result still running raises TimeoutError, as in CPython."""
    threadcrash.instrument(**otel.providers)
    release = threading.Event()
    outcome: list[str] = []
    with multiprocessing.pool.ThreadPool(1) as workers:
        running = workers.apply_async(release.wait, (10,))

        def wait_briefly() -> None:
            outcome.append(raised(lambda: running.get(timeout=0.05)))

        waiter = threading.Thread(target=wait_briefly)
        waiter.start()
        waiter.join(5)
        release.set()  # frees the task, and a waiter that ignored its timeout
        waiter.join(10)
    assert outcome == ["TimeoutError"]


class BrokenTraceback(Exception):
    """An exception whose ``__traceback__`` cannot be read from Python."""

    @property
    def __traceback__(self) -> Any:  # type: ignore[override]
        raise RuntimeError("no traceback for you")


def fail_with_broken_traceback() -> None:
    raise BrokenTraceback("hostile")


def test_a_pool_failure_that_cannot_be_watched_leaves_the_pool_working(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """A pool failure threadcrash cannot note is an internal error; later results still arrive."""
    threadcrash.instrument(**otel.providers)
    with multiprocessing.pool.ThreadPool(1) as workers:
        hostile = workers.apply_async(fail_with_broken_traceback)
        hostile.wait(10)
        assert hostile.ready()
        assert workers.apply_async(int, ("7",)).get(timeout=5) == 7
        del hostile
    (where, text), *_ = internal_errors.seen
    assert where == "pool result"
    assert "RuntimeError: no traceback for you" in text


def test_get_raises_a_pool_failure_whose_traceback_cannot_be_read(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """``get()`` raises the task's own exception, even one whose traceback cannot be read."""
    threadcrash.instrument(**otel.providers)
    with multiprocessing.pool.ThreadPool(1) as workers:
        hostile = workers.apply_async(fail_with_broken_traceback)
        with pytest.raises(BrokenTraceback, match="hostile"):
            hostile.get(timeout=10)
    assert [where for where, _ in internal_errors.seen] == ["pool result"]


def test_an_executor_failure_that_cannot_be_watched_still_reaches_its_caller(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """A task whose exception hides its traceback: result() raises it, the pool goes on."""
    threadcrash.instrument(**otel.providers)
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        hostile = pool.submit(fail_with_broken_traceback)
        with pytest.raises(BrokenTraceback, match="hostile"):
            hostile.result(timeout=10)
        assert pool.submit(int, "7").result(timeout=10) == 7
        del hostile
    gc.collect()
    (where, text), *_ = internal_errors.seen
    assert where == "future hand-over"
    assert text.startswith("RuntimeError")  # its context is the exception that hides its own
    assert reports(otel) == []


def test_map_async_results_arrive_in_order(otel: Otel) -> None:
    """map_async() under threadcrash returns every chunk's results in order, as in CPython."""
    threadcrash.instrument(**otel.providers)
    with multiprocessing.pool.ThreadPool(2) as workers:
        numbers = workers.map_async(int, ["1", "2", "3", "4"], chunksize=1)
        assert numbers.get(timeout=5) == [1, 2, 3, 4]


def test_a_future_made_before_instrument_failing_with_a_raised_exception_is_reported(
    otel: Otel,
) -> None:
    """A future made before instrument() that gets a raised exception, unread, is reported."""
    future: cf.Future[int] = cf.Future()
    threadcrash.instrument(**otel.providers)
    try:
        raise KeyError("made early")
    except KeyError as error:
        future.set_exception(error)
    del future
    gc.collect()
    (attributes,) = reports(otel)
    assert attributes["exception.type"] == "KeyError"


def test_a_non_exception_given_to_set_exception_is_skipped_at_exit(otel: Otel) -> None:
    """A future holding something that is not an exception, alive at exit, breaks nothing."""
    threadcrash.instrument(**otel.providers)
    kept: cf.Future[int] = cf.Future()
    kept.set_exception("not an exception")  # type: ignore[arg-type]
    failed: cf.Future[int] = cf.Future()
    failed.set_exception(KeyError("lost"))  # a real failure: exit walks the heap
    assert _future.drain() == 1
    del kept, failed
