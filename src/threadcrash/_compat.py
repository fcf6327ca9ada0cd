"""The one place where threadcrash touches another project's private names; each has a probe test.

``tests/test_compat.py`` (CPython's names the sources rely on) and ``tests/test_lazy.py`` probe
them on every supported Python, so a release that moves one fails a test, not a user.

- ``threading._SHUTTING_DOWN`` (CPython): once ``threading`` has shut down, a module that
  registers a threading exit callback at import (``concurrent.futures.thread``) refuses to be
  imported. The OpenTelemetry SDK's logs module builds a resource at import, which needs it; so a
  first crash after that point lifts the flag for the import alone (the callback registered then
  would have nothing to do: threading's exit callbacks have run).
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any

THREAD_POOL = "concurrent.futures.thread"

FINISHED = "FINISHED"
"""``concurrent.futures``' state of a future that has its result or exception."""


def future_state(future: Any) -> Any:
    """A ``concurrent.futures.Future``'s state (``future._state``)."""
    return future._state


def running_threads() -> dict[int, Any]:
    """``threading``'s own table of its threads by ident (``threading._active``).

    Read instead of ``current_thread()``, which makes a dummy ``Thread`` in a dying thread.
    """
    import threading

    return threading._active  # type: ignore[attr-defined,no-any-return]


def is_remote(exc: BaseException) -> bool:
    """Whether ``exc`` came back from a ``ProcessPoolExecutor`` worker.

    CPython chains such an exception to a ``_RemoteTraceback`` holding the worker's traceback
    text (``concurrent.futures.process``), so the text is in the report's stack trace.
    """
    cause = exc.__cause__
    return cause is not None and type(cause).__name__ == "_RemoteTraceback"


def pool_result_classes() -> tuple[type, type]:
    """``multiprocessing.pool``'s ``ApplyResult`` and ``MapResult`` (each has its own ``_set``)."""
    from multiprocessing import pool

    return pool.ApplyResult, pool.MapResult


def pool_result_failed(result: Any, obj: Any) -> tuple[bool, Any]:
    """Whether ``result._set(i, obj)`` is about to record its first failure, and the exception.

    ``obj`` is ``(success, value)``; ``MapResult`` keeps only its first failure in ``_success``.
    """
    success, value = obj
    first = not success and getattr(result, "_success", True)
    return bool(first) and not result._error_callback, value


def process_class() -> type:
    """``multiprocessing.process.BaseProcess``, whose ``_bootstrap`` runs in every child."""
    from multiprocessing import process

    return process.BaseProcess


def asyncio_context(obj: object) -> Any:
    """The ``contextvars.Context`` an asyncio task or callback handle runs in, or None.

    ``get_context()`` is public from 3.12; before, a ``Handle`` keeps it in ``_context`` and the
    C ``Task`` does not expose it.
    """
    get_context = getattr(obj, "get_context", None)
    if get_context is not None:
        return get_context()
    import asyncio

    return obj._context if isinstance(obj, asyncio.Handle) else None  # type: ignore[attr-defined]


def import_thread_pool() -> None:
    """Import ``concurrent.futures.thread``, even after ``threading`` has shut down."""
    if THREAD_POOL in sys.modules:
        return
    try:
        importlib.import_module(THREAD_POOL)
        return
    except RuntimeError:  # "can't register atexit after shutdown"
        if getattr(threading, "_SHUTTING_DOWN", None) is not True:
            raise
    threading._SHUTTING_DOWN = False  # type: ignore[attr-defined]
    try:
        importlib.import_module(THREAD_POOL)
    finally:
        threading._SHUTTING_DOWN = True  # type: ignore[attr-defined]
