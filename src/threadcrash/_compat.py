"""The one place where threadcrash touches another project's private names; each has a probe test.

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

THREAD_POOL = "concurrent.futures.thread"


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
