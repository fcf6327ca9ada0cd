"""Flush providers with a wait we bound ourselves: the SDK's ``force_flush`` ignores its timeout."""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._internal import record_internal_error


def flushable(providers: Iterable[Any]) -> list[Any]:
    """Keep the distinct providers that have ``force_flush`` (proxies and no-ops do not)."""
    found: list[Any] = []
    for provider in providers:
        if provider is None or any(provider is seen for seen in found):
            continue
        if callable(getattr(provider, "force_flush", None)):
            found.append(provider)
    return found


def flush(providers: Iterable[Any], timeout: float) -> bool:
    """Flush every provider in parallel, waiting at most ``timeout`` seconds in all.

    Each ``force_flush`` gets the whole timeout and runs by :func:`call_bounded`, so a stuck
    exporter costs the caller ``timeout`` and no more. True if every flush finished in time.
    """
    millis = max(1, int(timeout * 1000))
    return call_bounded(
        [functools.partial(provider.force_flush, millis) for provider in flushable(providers)],
        timeout,
        "flush",
    )


def _call_one(function: Callable[[], object], where: str) -> None:
    try:
        function()
    except Exception as error:
        record_internal_error(where, error)


def call_bounded(functions: Iterable[Callable[[], object]], timeout: float, where: str) -> bool:
    """Call each function (``provider.shutdown``...) in a daemon thread; wait ``timeout`` in all.

    Nothing is started once the interpreter is finalizing, and a stuck call costs the caller
    ``timeout`` and no more. Where no thread can start although the interpreter is not
    finalizing yet (atexit callbacks on Python 3.12), the calls are made in this thread, bounded
    by the exporters' own timeouts instead. True if every call finished.
    """
    functions = list(functions)
    if not functions:
        return True
    if sys.is_finalizing() or timeout <= 0:
        return False
    deadline = time.monotonic() + timeout
    workers = []
    for index, function in enumerate(functions):
        worker = threading.Thread(
            target=_call_one, args=(function, where), name=f"threadcrash-{where}", daemon=True
        )
        try:
            worker.start()
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            for rest in functions[index:]:
                _call_one(rest, where)
            break
        workers.append(worker)
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    return not any(worker.is_alive() for worker in workers)
