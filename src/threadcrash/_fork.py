"""After ``fork()`` the child forgets the crash counts it inherited from its parent.

The SDK's ``MeterProvider`` survives a fork with its aggregations intact, so under cumulative
temporality a child would export its parent's crashes again under its own resource (its own
``process.pid``). Spans and log records need nothing: the SDK's batch processors clear their
queues in the child. Only our own counter is reset, never the application's instruments.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from ._internal import record_internal_error

_counters: weakref.WeakSet[Any] = weakref.WeakSet()
_registered = False


def track(counter: Any) -> None:
    """Reset ``counter``'s inherited state in every forked child (once registered, for good)."""
    global _registered
    try:
        _counters.add(counter)
    except TypeError:
        return  # not weak-referenceable: an API no-op counter holds no state anyway
    if not _registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_in_child)
        _registered = True


def _after_in_child() -> None:
    for counter in list(_counters):
        try:
            forget(counter)
        except Exception as error:
            record_internal_error("after fork", error)


def forget(counter: Any) -> None:
    """Drop the SDK's aggregations of ``counter``; the next crash starts a fresh series."""
    instrument = getattr(counter, "_real_instrument", None) or counter  # API proxy -> SDK
    consumer = getattr(instrument, "_measurement_consumer", None)
    storages = getattr(consumer, "_reader_storages", None)
    if not isinstance(storages, dict):
        return
    for storage in storages.values():
        matches = getattr(storage, "_instrument_view_instrument_matches", None)
        if isinstance(matches, dict):
            matches.pop(instrument, None)
