"""The one place where threadcrash touches another project's private names; each has a probe test.

``tests/test_compat.py`` (CPython's and OpenTelemetry's names) and ``tests/test_lazy.py``
(``threading._SHUTTING_DOWN``) probe them on every supported Python, so a release that moves one
fails a named test, not a user. OpenTelemetry is imported inside the functions that need it, a
measured start-up choice (``benchmarks/bench_lazy.py``): ``instrument()`` imports none of it.

- ``threading._SHUTTING_DOWN`` (CPython): once ``threading`` has shut down, a module that
  registers a threading exit callback at import (``concurrent.futures.thread``) refuses to be
  imported. The OpenTelemetry SDK's logs module builds a resource at import, which needs it; so a
  first crash after that point lifts the flag for the import alone (the callback registered then
  would have nothing to do: threading's exit callbacks have run).
"""

from __future__ import annotations

import contextvars
import importlib
import sys
import threading
from typing import Any

# CPython

THREAD_POOL = "concurrent.futures.thread"

SNAPSHOT = "_get_snapshot"
"""``Future._get_snapshot()`` (3.15+): ``(done, cancelled, result, exception)`` in one lock
acquisition; asyncio's ``wrap_future`` reads a failure through it, not ``exception()``."""


def snapshot_method(future_class: type) -> str | None:
    """The name of ``Future``'s snapshot method where this Python has one, else None."""
    return SNAPSHOT if SNAPSHOT in vars(future_class) else None


def running_threads() -> dict[int, Any]:
    """``threading``'s own table of its threads by ident (``threading._active``).

    Read instead of ``current_thread()``, which makes a dummy ``Thread`` in a dying thread.
    """
    # start-up: the module named is imported only once the program has imported it
    import threading  # noqa: PLC0415

    return threading._active  # type: ignore[attr-defined,no-any-return]


def is_remote(exc: BaseException) -> bool:
    """Whether ``exc`` came back from a ``ProcessPoolExecutor`` worker.

    CPython chains such an exception to a ``_RemoteTraceback`` holding the worker's traceback
    text (``concurrent.futures.process``), so the text is in the report's stack trace.
    """
    try:
        cause = exc.__cause__
    except BaseException:  # a subclass's property may raise anything: not CPython's chain
        return False
    return cause is not None and type(cause).__name__ == "_RemoteTraceback"


def pool_result_classes() -> tuple[type, type]:
    """``multiprocessing.pool``'s ``ApplyResult`` and ``MapResult`` (each has its own ``_set``)."""
    from multiprocessing import pool  # start-up: tens of ms (-X importtime), process source only  # noqa: PLC0415

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
    from multiprocessing import process  # start-up: as above, for the process source only  # noqa: PLC0415

    return process.BaseProcess


def asyncio_context(obj: object) -> Any:
    """The ``contextvars.Context`` an asyncio task or callback handle runs in, or None.

    ``get_context()`` is public from 3.12; before, a ``Handle`` keeps it in ``_context`` and the
    C ``Task`` does not expose it.
    """
    get_context = getattr(obj, "get_context", None)
    if get_context is not None:
        return get_context()
    import asyncio  # start-up: tens of ms; called only once the program has imported asyncio  # noqa: PLC0415

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


def running_thread(ident: int) -> Any:
    """The ``Thread`` of ``ident`` in threading's own table (``threading._active``), or None.

    Unlike ``current_thread()``, it never creates a dummy ``Thread`` in a dying thread.
    """
    return threading._active.get(ident)  # type: ignore[attr-defined]


def caller_name(depth: int) -> str:
    """The name of the function ``depth`` frames above the caller (``sys._getframe``)."""
    return sys._getframe(depth + 1).f_code.co_name


# OpenTelemetry API


def span_key() -> str | None:
    """The context key under which the API keeps the current span (``_SPAN_KEY``), or None.

    Reading it directly skips ``get_current_span()``'s ABC isinstance check, which alone made a
    thread start ~3% slower.
    """
    try:
        from opentelemetry.trace.propagation import _SPAN_KEY  # start-up: see the docstring  # noqa: PLC0415
    except ImportError:  # pragma: no cover - an API without it: callers take the public path
        return None
    return _SPAN_KEY


def context_reader() -> Any:
    """A callable that returns the current OpenTelemetry ``Context``, as cheaply as it can.

    With the default runtime context that is the ``get`` of the API's ``ContextVar``
    (``_RUNTIME_CONTEXT._current_context``), a C call: it keeps the parent capture at
    ``submit()`` within its cost budget. Any other runtime context: the public ``get_current``.
    """
    from opentelemetry import context  # start-up: the program has imported it  # noqa: PLC0415

    var = getattr(getattr(context, "_RUNTIME_CONTEXT", None), "_current_context", None)
    if isinstance(var, contextvars.ContextVar):
        return var.get
    return context.get_current  # pragma: no cover - a runtime context of one's own


def is_proxy_meter_provider(provider: object) -> bool:
    """Whether ``provider`` is the API's placeholder before one is set (``_ProxyMeterProvider``)."""
    from opentelemetry.metrics._internal import _ProxyMeterProvider  # start-up: see above  # noqa: PLC0415

    return isinstance(provider, _ProxyMeterProvider)


def is_proxy_logger_provider(provider: object) -> bool:
    """Whether ``provider`` is the logs API's placeholder (``_internal.ProxyLoggerProvider``)."""
    from opentelemetry._logs._internal import ProxyLoggerProvider  # start-up: see above  # noqa: PLC0415

    return isinstance(provider, ProxyLoggerProvider)


# OpenTelemetry SDK


def forget_aggregations(counter: Any) -> None:
    """Drop the SDK's aggregations of ``counter`` (its fork internals); a no-op for others.

    The API's proxy keeps the SDK instrument in ``_real_instrument``; the instrument's
    ``_measurement_consumer`` keeps a storage per reader, and each storage its aggregations by
    instrument in ``_instrument_view_instrument_matches``.
    """
    instrument = getattr(counter, "_real_instrument", None) or counter
    consumer = getattr(instrument, "_measurement_consumer", None)
    storages = getattr(consumer, "_reader_storages", None)
    if not isinstance(storages, dict):
        return
    for storage in storages.values():
        matches = getattr(storage, "_instrument_view_instrument_matches", None)
        if isinstance(matches, dict):
            matches.pop(instrument, None)


# OpenTelemetry contrib instrumentations

THREADING_CONTEXT = "_otel_context"
"""Where ``opentelemetry-instrumentation-threading`` keeps, on a ``Thread``, its start's context."""

EXCEPTIONS_MODULE = "opentelemetry.instrumentation.exceptions"
EXCEPTIONS_INSTRUMENTOR = "UnhandledExceptionInstrumentor"
EXCEPTIONS_EMIT = "_emit_exception"
"""The instrumentor's method that emits its log record, called by each of its hook wrappers."""

EXCEPTIONS_WRAPPERS = {
    "_wrap_threading_excepthook": "thread",
    "_wrap_sys_excepthook": "main",
    "_wrap_asyncio_call_exception_handler": "asyncio",
}
"""The exceptions instrumentor's hook wrappers, by the threadcrash source that covers the hook."""
