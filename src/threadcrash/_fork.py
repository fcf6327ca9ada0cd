"""What a forked child does first: every fork handler of threadcrash is registered here, once.

:func:`in_child` is the one way to run something in a child after ``fork()``; it registers a
single ``os.register_at_fork`` handler that runs the callbacks in the order they were first
given, each on its own (one that raises is recorded, the next still runs).

The child also forgets the crash counts it inherited from its parent. The SDK's
``MeterProvider`` survives a fork with its aggregations intact, so under cumulative temporality
a child would export its parent's crashes again under its own resource (its own
``process.pid``). Spans and log records need nothing: the SDK's batch processors clear their
queues in the child. Only our own counter is reset, never the application's instruments.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from . import _compat
from ._internal import record_internal_error

_lock = threading.Lock()
_callbacks: tuple[Callable[[], None], ...] = ()
_registered = False


def in_child(callback: Callable[[], None]) -> None:
    """Run ``callback`` in every child forked from now on; giving it again changes nothing."""
    global _callbacks, _registered
    with _lock:
        if callback in _callbacks:
            return
        _callbacks = (*_callbacks, callback)
        if not _registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_run_in_child)
            _registered = True


def _run_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a fork taken while another thread registered must not leave it held
    for callback in _callbacks:
        try:
            callback()
        except Exception as error:
            record_internal_error("after fork", error)


_counters: weakref.WeakSet[Any] = weakref.WeakSet()


def track(counter: Any) -> None:
    """Reset ``counter``'s inherited state in every forked child (once registered, for good)."""
    try:
        _counters.add(counter)
    except TypeError:
        return  # not weak-referenceable: an API no-op counter holds no state anyway
    in_child(_forget_counters)


def _forget_counters() -> None:
    for counter in list(_counters):
        try:
            forget(counter)
        except Exception as error:
            record_internal_error("after fork", error)


def forget(counter: Any) -> None:
    """Drop the SDK's aggregations of ``counter``; the next crash starts a fresh series."""
    _compat.forget_aggregations(counter)
