"""CPython's private names that the sources rely on, in one place.

``tests/test_compat.py`` probes each on every supported Python, so a release that moves one
fails a test, not a user.
"""

from __future__ import annotations

from concurrent.futures import _base
from typing import Any

FINISHED = _base.FINISHED
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
