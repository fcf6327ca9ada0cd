"""CPython's private names that threadcrash relies on are where it expects them."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextvars
import multiprocessing.pool
import traceback
from typing import Any

from threadcrash import _compat


def test_a_finished_future_reports_the_finished_state() -> None:
    """concurrent.futures still calls a future with its outcome FINISHED, in ``_state``."""
    future: cf.Future[int] = cf.Future()
    assert _compat.future_state(future) != _compat.FINISHED
    future.set_exception(KeyError("x"))
    assert _compat.future_state(future) == _compat.FINISHED
    future.exception()


def test_threadings_own_table_maps_a_running_thread_by_its_ident() -> None:
    """The threading module still keeps its running threads by ident in ``_active``."""
    import threading

    seen: list[object] = []
    worker = threading.Thread(
        target=lambda: seen.append(_compat.running_threads().get(threading.get_ident()))
    )
    worker.start()
    worker.join(10)
    assert seen == [worker]
    assert _compat.running_threads()[threading.get_ident()] is threading.current_thread()


def test_a_process_pool_failure_is_recognised_by_its_remote_traceback() -> None:
    """A process pool's exception carries the worker's traceback text as a _RemoteTraceback."""
    from concurrent.futures.process import _ExceptionWithTraceback

    try:
        raise ValueError("in a worker")
    except ValueError as error:
        rebuilt: Any = _ExceptionWithTraceback(error, error.__traceback__)  # type: ignore[arg-type]
    function, arguments = rebuilt.__reduce__()  # what the parent unpickles
    exc = function(*arguments)
    assert _compat.is_remote(exc)
    assert "in a worker" in str(exc.__cause__)
    assert not _compat.is_remote(ValueError("local"))
    assert "Traceback" in "".join(traceback.format_exception(exc))


def test_pool_results_record_their_first_failure_in_set() -> None:
    """ApplyResult and MapResult still take ``(success, value)`` in ``_set`` and keep callbacks."""
    apply_result, map_result = _compat.pool_result_classes()
    assert "_set" in vars(apply_result)
    assert "_set" in vars(map_result)
    with multiprocessing.pool.ThreadPool(1) as workers:
        result: Any = workers.map_async(int, ["1", "x", "y"], chunksize=1)
        result.wait(10)
        assert result._success is False  # a MapResult keeps only its first failure
        assert result._error_callback is None
        assert _compat.pool_result_failed(result, (False, KeyError("x")))[0] is False
    fresh: Any = object.__new__(apply_result)
    fresh._error_callback = None
    assert _compat.pool_result_failed(fresh, (False, KeyError("x")))[0] is True
    fresh._error_callback = print
    assert _compat.pool_result_failed(fresh, (False, KeyError("x")))[0] is False


def test_an_asyncio_handle_and_task_give_their_context() -> None:
    """A callback handle's context is reachable on every Python, a task's from 3.12."""
    context = contextvars.copy_context()
    loop = asyncio.new_event_loop()
    try:
        handle = loop.call_soon(print, context=context)
        assert _compat.asyncio_context(handle) is context
        handle.cancel()
    finally:
        loop.close()


def test_every_process_runs_bootstrap() -> None:
    """Every multiprocessing child still starts's work in ``BaseProcess._bootstrap``."""
    assert "_bootstrap" in vars(_compat.process_class())
