"""Flush providers with a wait we bound ourselves: the SDK's ``force_flush`` ignores its timeout."""

from __future__ import annotations

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


def _flush_one(provider: Any, timeout_millis: int) -> None:
    try:
        provider.force_flush(timeout_millis)
    except Exception as error:
        record_internal_error("force_flush", error)


def flush(providers: Iterable[Any], timeout: float) -> bool:
    """Flush every provider in parallel, waiting at most ``timeout`` seconds in all.

    Each flush runs in a daemon thread that is joined with the remaining time, so a stuck
    exporter costs the caller ``timeout`` and no more. Once the interpreter is finalizing no
    thread may be started, so nothing is flushed. True if every flush finished in time.
    """
    targets = flushable(providers)
    if not targets or timeout <= 0:
        return not targets
    if sys.is_finalizing():
        return False
    deadline = time.monotonic() + timeout
    millis = max(1, int(timeout * 1000))
    workers = []
    for provider in targets:
        worker = threading.Thread(
            target=_flush_one, args=(provider, millis), name="threadcrash-flush", daemon=True
        )
        try:
            worker.start()
        except RuntimeError as error:  # "can't create new thread at interpreter shutdown"
            record_internal_error("flush", error)
            return False
        workers.append(worker)
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    return not any(worker.is_alive() for worker in workers)


def _call_one(function: Callable[[], object], where: str) -> None:
    try:
        function()
    except Exception as error:
        record_internal_error(where, error)


def call_bounded(functions: Iterable[Callable[[], object]], timeout: float, where: str) -> bool:
    """Call each function (``provider.shutdown``...) in a daemon thread; wait ``timeout`` in all.

    The same rules as :func:`flush`: nothing is started once the interpreter is finalizing, and
    a stuck call costs the caller ``timeout`` and no more. Where no thread can start although the
    interpreter is not finalizing yet (atexit callbacks on Python 3.12), the calls are made in
    this thread, bounded by the exporters' own timeouts instead. True if every call finished.
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
