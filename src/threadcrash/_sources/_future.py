"""future: a failed ``concurrent.futures.Future`` or ``multiprocessing.pool`` result nobody read.

A future that finished with an exception and is garbage-collected without anyone calling
``result()`` or ``exception()`` (``get()`` for a pool result) lost that exception. The wrapper
of ``set_exception`` runs on the thread that ran the task: it notes that thread and hangs a
small :class:`Failure` on the future *before* the future is marked finished, so before any
``result()`` can raise the exception. ``result()`` is not wrapped: the failure notes where the
exception's traceback stood, and at collection ``result()``'s frame above that point says the
exception was read. The failure holds the exception, as the future does, and dies with the
future: its ``__del__`` reports the exception if nobody retrieved it. Nothing global holds it,
so a future in a reference cycle is still collected; only the ids of the unclaimed failures
are kept, and at exit, if there are any, the garbage collector's list of objects finds them.
The failing path is hot (a task that raises and whose caller reads the exception): it does
the least it can, the report the rest.

The parent span is the one current when the future was created, which is at ``submit()`` for
every executor built on ``Future``: ``Future.__init__`` reads it as cheaply as ``Thread.start``.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, NamedTuple

from .. import _compat, _fork, _imports, _parent
from .._internal import record_internal_error
from .._record import ParentSpan, ThreadFacts
from .._reporter import Reporter

FAILURE = "_threadcrash_failure"
PARENT = "_threadcrash_parent"
ORIGIN = "_threadcrash_origin"  # on the exception: where it was raised, as plain data
NO_THREAD = (None, None, None)  # another process's task, or a multiprocessing.pool result


class Origin(NamedTuple):
    """Where an executor's task raised: its thread, and the span current at submit."""

    thread: ThreadFacts
    parent: ParentSpan | None


_lock = threading.Lock()
_source: FutureSource | None = None
_capture_parent = False
_exited = False
_alive: dict[int, bool] = {}  # the ids of the failures not yet claimed (result() claims none)
_current_span_context = _parent.current_span_context
_RESULT_CODE: Any = None  # CPython's own Future.result's code, once concurrent.futures is imported

_get_ident = threading.get_ident
_get_native_id = threading.get_native_id
_threads = _compat.running_threads()


class Failure:
    """One failed future's exception and facts, until it is claimed: retrieved or reported."""

    __slots__ = ("context", "exc", "tb", "worker")

    def __init__(self, exc: BaseException, context: Any, *, here: bool = True) -> None:
        self.exc: BaseException | None = exc
        self.tb = exc.__traceback__  # where the exception was when the task handed it over
        self.context = context  # the span context current at submit, or None
        # the thread that raised (this one, for an executor's task), or its facts as a tuple
        if not here or (exc.__cause__ is not None and _compat.is_remote(exc)):
            self.worker: Any = NO_THREAD  # a process pool's: the worker's traceback is in __cause__
        else:
            ident = _get_ident()
            self.worker = _threads.get(ident) or (None, ident, _get_native_id())
        _alive[id(self)] = True  # its own key until claimed: take(), or __del__

    def take(self) -> BaseException | None:
        """The exception, once: retrieval, the report at collection and at exit race for it.

        Popping its key is the claim (atomic, also without the GIL); no lock, so the garbage
        collector running another failure's ``__del__`` in the middle of it is harmless.
        """
        if _alive.pop(id(self), None) is None:
            return None
        exc, self.exc = self.exc, None
        return exc

    def read_by_result(self, exc: BaseException) -> bool:
        """Whether ``Future.result()`` raised ``exc`` since the task handed it over.

        Every raise puts its frames on top of the traceback, so ``result()``'s frame lies
        between the traceback's head and where it was at ``set_exception`` (a task that
        re-raised another future's exception has that ``result()`` below, not between).
        Reading this here, at the report, costs ``result()`` nothing: it is not wrapped.
        """
        tb, handed_over = exc.__traceback__, self.tb
        while tb is not None and tb is not handed_over:
            if tb.tb_frame.f_code is _RESULT_CODE:
                return True
            tb = tb.tb_next
        return False

    @property
    def thread(self) -> ThreadFacts:
        """The thread that ran ``set_exception``, as plain data."""
        worker = self.worker
        if isinstance(worker, tuple):
            return ThreadFacts(*worker)
        return ThreadFacts(worker.name, worker.ident, worker.native_id)

    @property
    def parent(self) -> ParentSpan | None:
        """The span current at submit, as plain integers."""
        return None if self.context is None else _parent.to_parent(self.context)

    def report(self) -> bool:
        """Report the exception unless it was claimed or read; let go of what it holds."""
        exc = self.take()
        if exc is None:
            return False
        read = self.read_by_result(exc)
        thread = None if read else self.thread
        self.worker = self.tb = None
        source = _source
        if thread is None or source is None:
            return False
        source.report(exc, thread, self.parent)
        return True

    def __del__(self) -> None:
        # report(), inlined: a failure read by result() comes here, on the hot failing path
        exc = self.exc
        if exc is None:
            return  # claimed by exception() or get(), or reported already
        try:
            if _alive.pop(id(self), None) is None or _exited:
                return
            tb, handed_over = exc.__traceback__, self.tb
            while tb is not None and tb is not handed_over:
                if tb.tb_frame.f_code is _RESULT_CODE:
                    return  # read_by_result()
                tb = tb.tb_next
            source = _source
            if source is not None:
                source.report(exc, self.thread, self.parent)
        except Exception as error:
            record_internal_error("future finalizer", error)


def watch(future: Any, exc: object) -> Failure | None:
    """Hang a failure on ``future`` unless one is there already; return it if it is new."""
    if _source is None or not isinstance(exc, BaseException):
        return None
    if getattr(future, FAILURE, None) is not None:
        return None  # a second set_exception, which the future itself refuses
    failure = Failure(exc, getattr(future, PARENT, None), here=False)
    setattr(future, FAILURE, failure)
    return failure


def retrieved(future: Any) -> None:
    """Someone has the exception of ``future`` in hand: it is not lost."""
    failure = getattr(future, FAILURE, None)
    if failure is not None:
        failure.take()


def retrieved_by_exception(future: Any, exc: BaseException) -> None:
    """``exception()`` handed ``exc`` on: leave where it was raised on it, for asyncio.

    asyncio's ``wrap_future`` (``run_in_executor``) copies a failure with ``exception()``;
    if nobody awaits it, asyncio reports it and names the executor's thread from this.
    """
    failure = getattr(future, FAILURE, None)
    if failure is not None and failure.take() is not None:
        with contextlib.suppress(Exception):  # an exception that refuses attributes
            vars(exc)[ORIGIN] = Origin(failure.thread, failure.parent)
        failure.worker = failure.tb = None


def origin_of(exc: BaseException) -> Origin | None:
    """Where ``exc`` was raised, if it is an executor task's that went through a future."""
    try:
        origin = vars(exc).get(ORIGIN)
    except TypeError:
        return None
    return origin if isinstance(origin, Origin) else None


def hide_own_frame(exc: BaseException, code: object) -> None:
    """Drop the wrapper's own entry from ``exc``'s traceback before a bare ``raise``.

    From 3.11 a bare ``raise`` adds no entry, so the caller's traceback is CPython's own.
    """
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code is code:
        exc.__traceback__ = tb.tb_next


# the wrappers: each gets the original it wraps as a closure variable (a cell is the cheapest
# lookup on the hot path of submit() and result())


def _wrap_future_init(original: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Any) -> None:  # Future() takes no arguments: the cheapest call
        original(self)
        if _capture_parent:
            try:
                context = _current_span_context()
            except Exception:
                return
            if context is not None:
                # an attribute, not __dict__[...]: touching __dict__ would build the dict
                self._threadcrash_parent = context

    return __init__


def _wrap_init(original: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if _capture_parent:
            try:
                context = _current_span_context()
            except Exception:
                return
            if context is not None:
                # an attribute, not __dict__[...]: touching __dict__ would build the dict
                self._threadcrash_parent = context

    return __init__


def _wrap_set_exception(original: Callable[..., None]) -> Callable[..., None]:
    def set_exception(self: Any, exception: Any) -> None:
        failure = None
        if _source is not None and isinstance(exception, BaseException):
            try:
                if getattr(self, FAILURE, None) is None:  # else a second set_exception: refused
                    failure = Failure(exception, getattr(self, PARENT, None))
                    self._threadcrash_failure = failure
            except Exception as error:
                record_internal_error("future set_exception", error)
        try:
            original(self, exception)
        except BaseException:
            if failure is not None:  # already finished or cancelled: not this failure
                self._threadcrash_failure = None
                failure.take()
            del failure, self
            raise

    return set_exception


def _wrap_exception(original: Callable[..., Any]) -> Callable[..., Any]:
    def exception(self: Any, timeout: float | None = None) -> Any:
        exc = original(self, timeout)
        if exc is not None and getattr(self, FAILURE, None):
            retrieved_by_exception(self, exc)
        return exc

    return exception


def _wrap_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    def _get_snapshot(self: Any) -> Any:
        snapshot = original(self)
        exc = snapshot[3]
        if exc is not None and getattr(self, FAILURE, None):
            retrieved_by_exception(self, exc)  # as exception() does: asyncio reads it so
        return snapshot

    return _get_snapshot


def _wrap_pool_set(original: Callable[..., None]) -> Callable[..., None]:
    def _set(self: Any, i: int, obj: Any) -> None:
        if _source is not None:
            try:
                failed, exc = _compat.pool_result_failed(self, obj)
                if failed:
                    watch(self, exc)
            except Exception as error:
                record_internal_error("pool result", error)
        original(self, i, obj)

    return _set


def _wrap_pool_get(original: Callable[..., Any]) -> Callable[..., Any]:
    def get(self: Any, timeout: float | None = None) -> Any:
        try:
            return original(self, timeout)
        except BaseException as exc:
            if getattr(self, FAILURE, None) and self.ready():
                retrieved(self)
            hide_own_frame(exc, get.__code__)
            del exc
            raise

    return get


Target = tuple[type, str, Callable[[Any], Callable[..., Any]]]


def _future_targets(base: ModuleType) -> list[Target]:
    """``concurrent.futures._base.Future``'s methods, once the program imports it."""
    targets: list[Target] = [
        (base.Future, "__init__", _wrap_future_init),
        (base.Future, "set_exception", _wrap_set_exception),
        (base.Future, "exception", _wrap_exception),
    ]
    snapshot = _compat.snapshot_method(base.Future)
    if snapshot is not None:
        targets.append((base.Future, snapshot, _wrap_snapshot))
    return targets


def _pool_targets(pool: ModuleType) -> list[Target]:
    """``multiprocessing.pool``'s result classes (each has its own ``_set``), once imported."""
    return [
        (pool.ApplyResult, "__init__", _wrap_init),
        (pool.ApplyResult, "get", _wrap_pool_get),
        (pool.ApplyResult, "_set", _wrap_pool_set),
        (pool.MapResult, "_set", _wrap_pool_set),
    ]


# (class, name) -> (our wrapper, the original); an entry stays while ours is in the chain
_patched: dict[tuple[type, str], tuple[Callable[..., Any], Any]] = {}


def _patch(targets: list[Target]) -> None:
    for cls, name, wrap in targets:
        if (cls, name) in _patched:
            continue  # ours is still in the chain (perhaps wrapped by someone since)
        original = vars(cls)[name]
        wrapper = wrap(original)
        wrapper.__qualname__ = getattr(original, "__qualname__", name)
        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(cls, name, wrapper)
        _patched[cls, name] = (wrapper, original)


def _restore_all() -> None:
    for (cls, name), (wrapper, original) in list(_patched.items()):
        if vars(cls).get(name) is wrapper:
            setattr(cls, name, original)
            del _patched[cls, name]
        # else: wrapped by someone since; ours stays in the chain, inert


def _unclaimed() -> list[Failure]:
    """The failures alive and not yet claimed; walks the heap, so only when there are some."""
    if not _alive:
        return []
    return [obj for obj in gc.get_objects() if type(obj) is Failure and id(obj) in _alive]


def drain() -> int:
    """Report the failures still alive and unretrieved (at exit); return how many."""
    global _exited
    reported = sum(failure.report() for failure in _unclaimed())
    _exited = True
    return reported


def _forget_inherited() -> None:
    """In a forked child: the failures alive in the parent are the parent's to report."""
    global _exited
    _alive.clear()  # their keys gone, nothing can claim them here
    _exited = False


def at_exit() -> None:
    """The lifecycle's exit step: failures still alive are reported before providers shut down."""
    try:
        drain()
    except Exception as error:
        record_internal_error("futures at exit", error)


class FutureSource:
    """Wraps ``Future`` and the pool results' methods; reports failures nobody retrieved."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self._capture_parent = reporter.settings.capture_parent

    def install(self) -> None:
        global _source, _capture_parent, _exited
        with _lock:
            _source = self
            _capture_parent = self._capture_parent
            _exited = False
        _fork.in_child(_forget_inherited)
        # a program that never imports concurrent.futures or multiprocessing.pool pays nothing
        _imports.when_imported("concurrent.futures._base", self._patch_futures)
        _imports.when_imported("multiprocessing.pool", self._patch_pools)

    def _patch_futures(self, module: ModuleType) -> None:
        global _RESULT_CODE
        with _lock:
            if _source is self:
                result = module.Future.result
                while hasattr(result, "__wrapped__"):  # another library's wrapper: CPython's code
                    result = result.__wrapped__
                _RESULT_CODE = result.__code__
                _patch(_future_targets(module))

    def _patch_pools(self, module: ModuleType) -> None:
        with _lock:
            if _source is self:
                _patch(_pool_targets(module))

    def uninstall(self) -> None:
        global _source, _capture_parent
        _imports.forget("concurrent.futures._base", self._patch_futures)
        _imports.forget("multiprocessing.pool", self._patch_pools)
        with _lock:
            if _source is not self:
                return
            _source = None
            _capture_parent = False
            _restore_all()

    def report(self, exc: BaseException, thread: ThreadFacts, parent: ParentSpan | None) -> None:
        """Hand one lost failure to the reporter."""
        self._reporter.report(
            type(exc), exc, exc.__traceback__, source="future", thread=thread, parent=parent
        )
