"""future: a failed ``concurrent.futures.Future`` or ``multiprocessing.pool`` result nobody read.

A future that finished with an exception and is garbage-collected without anyone calling
``result()`` or ``exception()`` (``get()`` for a pool result) lost that exception. The wrapper
of ``set_exception`` runs on the thread that ran the task: it hangs the failure on the future,
with that thread and where the exception's traceback stood, *before* the future is marked
finished, so before anyone can read the exception. The future's own ``__del__`` (threadcrash
gives ``Future`` one) reports the exception unless it was retrieved. Nothing global holds a
future or an exception, so a future in a reference cycle is still collected; at exit, if any task
failed during the run, the garbage collector's list of objects finds the futures whose failure
is still unclaimed.

The failing path is hot (a task that raises and whose caller reads the exception), so it does
the least it can and leaves the rest to the report; its statements were counted one by one
(``benchmarks/bench_future_instructions.py``). ``result()`` is not wrapped: it raises the
exception, and a raise puts a new head on the exception's traceback; a traceback that is no
longer the one the task handed over means somebody raised the exception again, as ``result()``
does. ``exception()`` is wrapped and claims the failure.

``Future.__init__`` keeps, on the future, the OpenTelemetry context current when it was made
(at ``submit()``; read in one C call), and a worker, an exception and a traceback of None;
``set_exception`` sets those three. The worker is ``(thread, epoch)``: the ``Thread`` that ran
``set_exception`` (a ``(name, ident, native_id)`` tuple for a thread ``threading`` does not
know, or :data:`NO_THREAD`), and the process's epoch, new in a forked child, whose inherited
failures are the parent's to report. A future made before threadcrash has none of these.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, NamedTuple

from .. import _compat, _fork, _imports, _parent
from .._internal import record_internal_error
from .._record import ParentSpan, ThreadFacts
from .._reporter import Reporter

# on a future, each set in __init__: a class-level default would keep CPython from specializing
# the reads and writes, and so would a name first set later (once a class has had a few dozen
# instances, CPython stores a new attribute name in a dict of each instance's own)
CONTEXT = "_threadcrash"  # the OpenTelemetry context when it was made
WORKER = "_threadcrash_worker"  # once failed, the thread that raised; None until, or once claimed
HANDED_OVER = "_threadcrash_tb"  # once failed: the exception's traceback at the hand-over
EXCEPTION = "_threadcrash_exc"  # once failed: the exception, as the future holds it
ORIGIN = "_threadcrash_origin"  # on the exception: where it was raised, as plain data
NO_THREAD = (None, None, None)  # another process's task, or a multiprocessing.pool result


class Failure(NamedTuple):
    """A failure taken off its future by a claim."""

    context: Any
    worker: Any
    handed_over: Any
    exception: BaseException


class Origin(NamedTuple):
    """Where an executor's task raised: its thread, and the span current at submit."""

    thread: ThreadFacts
    parent: ParentSpan | None


_lock = threading.Lock()
_source: FutureSource | None = None
_exited = False
_failed = False  # a task failed in this process (since the fork): exit looks for failures
_epoch = object()  # this process's, new in a forked child

_get_ident = threading.get_ident
_get_native_id = threading.get_native_id
_threads = _compat.running_threads()
_here = threading.local()  # .worker: (this thread, _epoch), as a failure notes it; once


def _no_context() -> None:
    return None


def _context_once_imported() -> Any:
    """None until the program has imported the OpenTelemetry API: no span can be current."""
    global _read_context
    if "opentelemetry.trace" not in sys.modules:
        return None
    try:
        reader = _compat.context_reader()
        context = reader()
    except Exception as error:
        record_internal_error("future parent", error)
        return None
    if _read_context is _context_once_imported:  # not turned off meanwhile
        _read_context = reader
    return context


# the OpenTelemetry context current now: what Future.__init__ keeps for the parent span
_read_context: Callable[[], Any] = _no_context


def _this_worker() -> tuple[Any, object]:
    """The current thread as a failure notes it: its ``Thread`` (or its facts), and the epoch.

    Looked up on the first failure on each thread, which also tells exit to look for failures.
    """
    global _failed
    ident = _get_ident()
    worker = _here.worker = (_threads.get(ident) or (None, ident, _get_native_id()), _epoch)
    _failed = True
    return worker


def thread_of(failure: Failure) -> ThreadFacts:
    """The thread that raised, as plain data; none for another process's task.

    A process pool's ``set_exception`` runs on its management thread, but the exception
    was raised in a worker process, whose traceback CPython chains in ``__cause__``.
    """
    worker = failure.worker[0]
    if worker is NO_THREAD or _compat.is_remote(failure.exception):
        return ThreadFacts(*NO_THREAD)
    if isinstance(worker, tuple):
        return ThreadFacts(*worker)
    return ThreadFacts(worker.name, worker.ident, worker.native_id)


def parent_of(failure: Failure) -> ParentSpan | None:
    """The span current when the future was made (at submit), as plain integers."""
    context = failure.context
    return None if context is None else _parent.parent_in(context)


def claim(future: Any) -> Failure | None:
    """The failure on ``future``, once: retrieval and the report at exit race for it."""
    if getattr(future, WORKER, None) is None:
        return None
    held = vars(future)
    worker = held.pop(WORKER, None)  # one dict operation: the claim
    if worker is None:
        return None
    failure = Failure(held.get(CONTEXT), worker, held.get(HANDED_OVER), held.get(EXCEPTION))
    held[WORKER] = held[HANDED_OVER] = held[EXCEPTION] = None
    return failure


def _report(failure: Failure) -> bool:
    """Report a failure nobody retrieved, unless its exception was raised again (read)."""
    exc = failure.exception
    source = _source
    if (
        exc.__traceback__ is not failure.handed_over
        or failure.worker[1] is not _epoch
        or source is None
    ):
        return False
    source.report(exc, thread_of(failure), parent_of(failure))
    return True


def _report_dying(future: Any) -> None:
    """Report the failure of a future being collected (nobody else holds it: no claim)."""
    try:
        _report(
            Failure(
                getattr(future, CONTEXT, None),  # absent on a future made before threadcrash
                future._threadcrash_worker,
                future._threadcrash_tb,
                future._threadcrash_exc,
            )
        )
    except Exception as error:
        record_internal_error("future finalizer", error)


def watch(future: Any, exc: object, worker: Any = NO_THREAD) -> None:
    """Hang a failure on ``future`` unless one is there already (its first failure counts)."""
    global _failed
    if _source is None or not isinstance(exc, BaseException):
        return
    if getattr(future, WORKER, None) is None:
        setattr(future, HANDED_OVER, exc.__traceback__)
        setattr(future, EXCEPTION, exc)
        setattr(future, WORKER, (worker, _epoch))  # last: a worker says the failure is whole
        _failed = True


def retrieved_by_exception(future: Any, exc: BaseException) -> None:
    """``exception()`` handed ``exc`` on: leave where it was raised on it, for asyncio.

    asyncio's ``wrap_future`` (``run_in_executor``) copies a failure with ``exception()``;
    if nobody awaits it, asyncio reports it and names the executor's thread from this.
    """
    failure = claim(future)
    if failure is not None:
        with contextlib.suppress(Exception):  # an exception that refuses attributes
            vars(exc)[ORIGIN] = Origin(thread_of(failure), parent_of(failure))


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
    with contextlib.suppress(Exception):  # a traceback that cannot be read or set: as it is
        tb = exc.__traceback__
        if tb is not None and tb.tb_frame.f_code is code:
            exc.__traceback__ = tb.tb_next


def _first_look(future: Any, exception: object) -> tuple[Any, Any]:
    """``set_exception``'s reads where the fast ones failed: an earlier failure, the traceback.

    The earlier failure is True where there is nothing to watch: not an exception (the future
    stores it as such), or an exception whose traceback cannot be read, whose failure could
    not be told read from unread.
    """
    if not isinstance(exception, BaseException):
        return True, None
    try:
        return getattr(future, WORKER, None), exception.__traceback__
    except Exception as error:
        record_internal_error("future hand-over", error)
        return True, None


# the wrappers: each gets the original it wraps as a closure variable (a cell is the cheapest
# lookup on the hot paths of submit() and of a failing task)


def _wrap_future_init(original: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Any) -> None:  # Future() takes no arguments: the cheapest call
        original(self)
        self._threadcrash = _read_context()
        self._threadcrash_worker = None
        self._threadcrash_tb = None
        self._threadcrash_exc = None

    return __init__


def _wrap_init(original: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._threadcrash = _read_context()
        self._threadcrash_worker = None
        self._threadcrash_tb = None
        self._threadcrash_exc = None

    return __init__


def _wrap_del(original: Callable[[Any], None] | None) -> Callable[[Any], None]:
    def __del__(self: Any) -> None:
        try:  # failed, and its traceback is still the handed-over one: nobody raised it again
            if (
                self._threadcrash_worker is not None
                and self._threadcrash_exc.__traceback__ is self._threadcrash_tb
                and not _exited
            ):
                _report_dying(self)
        except AttributeError:  # made before threadcrash wrapped __init__
            pass

    if original is None:
        return __del__

    def chained(self: Any) -> None:
        __del__(self)
        original(self)

    return chained


def _wrap_set_exception(original: Callable[..., None]) -> Callable[..., None]:
    def set_exception(self: Any, exception: Any) -> None:
        try:
            earlier = self._threadcrash_worker
            handed_over = exception.__traceback__
        except Exception:  # made before threadcrash, not an exception, or a hostile traceback
            earlier, handed_over = _first_look(self, exception)
        if earlier is not None:  # a second call (which the future refuses), or no exception
            original(self, exception)
            return
        self._threadcrash_tb = handed_over
        self._threadcrash_exc = exception
        try:
            self._threadcrash_worker = _here.worker
        except AttributeError:  # the first failure on this thread
            self._threadcrash_worker = _this_worker()
        try:
            original(self, exception)
        except BaseException:  # already finished or cancelled: not this failure
            claim(self)
            del self
            raise

    return set_exception


def _wrap_exception(original: Callable[..., Any]) -> Callable[..., Any]:
    def exception(self: Any, timeout: float | None = None) -> Any:
        exc = original(self, timeout)
        if exc is not None:
            retrieved_by_exception(self, exc)
        return exc

    return exception


def _wrap_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    def _get_snapshot(self: Any) -> Any:
        snapshot = original(self)
        exc = snapshot[3]
        if exc is not None:
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
            if self.ready():  # its exception is in the caller's hands: not lost
                claim(self)
            hide_own_frame(exc, get.__code__)
            del exc
            raise

    return get


Target = tuple[type, str, Callable[[Any], Callable[..., Any]]]  # wrap(the original, or None)


def _future_targets(base: ModuleType) -> list[Target]:
    """``concurrent.futures._base.Future``'s methods, once the program imports it."""
    targets: list[Target] = [
        (base.Future, "__init__", _wrap_future_init),
        (base.Future, "__del__", _wrap_del),
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
        (pool.ApplyResult, "__del__", _wrap_del),
        (pool.ApplyResult, "get", _wrap_pool_get),
        (pool.ApplyResult, "_set", _wrap_pool_set),
        (pool.MapResult, "_set", _wrap_pool_set),
    ]


_ABSENT = object()
# (class, name) -> (ours, the original or _ABSENT); an entry stays while ours is in the chain
_patched: dict[tuple[type, str], tuple[Any, Any]] = {}


def _patch(targets: list[Target]) -> None:
    for cls, name, wrap in targets:
        if (cls, name) in _patched:
            continue  # ours is still in the chain (perhaps wrapped by someone since)
        original = vars(cls).get(name, _ABSENT)  # absent: a method we add (__del__)
        ours = wrap(None if original is _ABSENT else original)
        ours.__qualname__ = f"{cls.__qualname__}.{name}"
        if original is not _ABSENT:
            ours.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(cls, name, ours)
        _patched[cls, name] = (ours, original)


def _restore_all() -> None:
    for (cls, name), (ours, original) in list(_patched.items()):
        if vars(cls).get(name, _ABSENT) is ours:
            if original is _ABSENT:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
            del _patched[cls, name]
        # else: wrapped by someone since; ours stays in the chain, inert


def _unclaimed() -> list[Any]:
    """The futures alive with a failure not yet claimed; walks the heap, only if there are some."""
    if not _failed:
        return []
    owners = tuple({cls for cls, name in _patched if name == "__del__"})
    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, owners) and getattr(obj, WORKER, None) is not None
    ]


def drain() -> int:
    """Report the failures still alive and unretrieved (at exit); return how many."""
    global _exited
    reported = 0
    for future in _unclaimed():
        failure = claim(future)
        if failure is not None:
            reported += _report(failure)
    _exited = True
    return reported


def _forget_inherited() -> None:
    """In a forked child: the failures alive in the parent are the parent's to report."""
    global _exited
    global _failed, _epoch, _here
    _failed = False
    _epoch = object()
    _here = threading.local()
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
        global _source, _read_context, _exited
        with _lock:
            _source = self
            _read_context = _context_once_imported if self._capture_parent else _no_context
            _exited = False
        _fork.in_child(_forget_inherited)
        # a program that never imports concurrent.futures or multiprocessing.pool pays nothing
        _imports.when_imported("concurrent.futures._base", self._patch_futures)
        _imports.when_imported("multiprocessing.pool", self._patch_pools)

    def _patch_futures(self, module: ModuleType) -> None:
        with _lock:
            if _source is self:
                _patch(_future_targets(module))

    def _patch_pools(self, module: ModuleType) -> None:
        with _lock:
            if _source is self:
                _patch(_pool_targets(module))

    def uninstall(self) -> None:
        global _source, _read_context
        _imports.forget("concurrent.futures._base", self._patch_futures)
        _imports.forget("multiprocessing.pool", self._patch_pools)
        with _lock:
            if _source is not self:
                return
            _source = None
            _read_context = _no_context
            _restore_all()

    def report(self, exc: BaseException, thread: ThreadFacts, parent: ParentSpan | None) -> None:
        """Hand one lost failure to the reporter."""
        self._reporter.report(
            type(exc), exc, exc.__traceback__, source="future", thread=thread, parent=parent
        )
