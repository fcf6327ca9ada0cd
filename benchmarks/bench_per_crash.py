"""Per-crash cost of threadcrash's hook (all four signals, chaining off) against CPython's hook.

CPython's default ``threading.excepthook`` prints the traceback to ``sys.stderr``; here stderr
is ``/dev/null`` so the cost is its formatting and writing. Our hook builds the record and emits
a span, a log record, a counter increment and a structlog event through batch processors.
Printed: microseconds per crash for each, and the ratio (target: <= 1.0).
"""

from __future__ import annotations

import io
import os
import sys
import threading
from types import TracebackType
from typing import TextIO

import structlog

import threadcrash
from benchmarks._common import interleaved, providers


def _validate(order: dict[str, int]) -> None:
    raise ValueError(f"order {order['id']} could not be processed")


def _price(order: dict[str, int]) -> None:
    _validate(order)


def _handle(order: dict[str, int]) -> None:
    _price(order)


def _dispatch(order: dict[str, int], depth: int) -> None:
    if depth:
        _dispatch(order, depth - 1)
    else:
        _handle(order)


def _exception(depth: int) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    """A crash ``depth`` + 4 frames deep, as a worker's handler stack would be."""
    try:
        _dispatch({"id": 7}, depth)
    except ValueError as error:
        return ValueError, error, error.__traceback__
    raise AssertionError("unreachable")


def measure(depth: int, devnull: TextIO) -> tuple[float, float]:
    """Median seconds per crash of CPython's hook and of ours, for one stack depth."""
    exc_type, exc_value, exc_tb = _exception(depth)
    args = threading.ExceptHookArgs([exc_type, exc_value, exc_tb, threading.current_thread()])
    cpython = threading.__excepthook__
    ours = threading.excepthook

    def run_cpython(count: int) -> None:
        saved, sys.stderr = sys.stderr, devnull
        try:
            for _ in range(count):
                cpython(args)
        finally:
            sys.stderr = saved

    def run_ours(count: int) -> None:
        for _ in range(count):
            ours(args)

    result = interleaved({"cpython": run_cpython, "ours": run_ours}, rounds=30, per_round=200)
    return result["cpython"], result["ours"]


def main() -> None:
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(io.StringIO()),
        cache_logger_on_first_use=True,
    )
    # storm control off (rate_limit=0): every one of the repeated crashes is reported in full
    threadcrash.instrument(chain=False, rate_limit=0, **providers())
    print(f"python {sys.version.split()[0]}; per crash, microseconds (median of 30 rounds)")
    print(f"{'frames':>8} {'CPython hook':>14} {'threadcrash':>12} {'ratio':>7}")
    with open(os.devnull, "w") as devnull:
        for depth in (0, 6, 20):
            cpython, ours = measure(depth, devnull)
            frames = depth + 4
            print(f"{frames:>8} {cpython * 1e6:>14.1f} {ours * 1e6:>12.1f} {ours / cpython:>7.2f}")
    threadcrash.uninstrument()
    print("ratio = threadcrash (4 signals, chaining off) / CPython's default hook; target <= 1.0")


if __name__ == "__main__":
    main()
