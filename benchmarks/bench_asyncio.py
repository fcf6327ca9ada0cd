"""Cost of the ``asyncio`` source: nothing on the hot path, little on the error path.

1. Tasks that do not fail (``gather`` of no-op tasks), instrumented / plain: threadcrash wraps
   only ``call_exception_handler``, so the ratio should be 1 (target: <= 1.05).
2. One exception reaching the loop's handler: asyncio's default handler logging it (to a
   stream on ``/dev/null``) with threadcrash reporting it first (four signals, batch
   processors, storm control off), against the default handler alone. Printed for information:
   this is the per-crash cost of ``bench_per_crash.py`` again, here next to asyncio's own log
   line for a one-frame stack (about twice that line's cost on top of it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

import threadcrash
from benchmarks._common import interleaved, providers


async def _noop() -> None:
    return None


def _error_context() -> dict[str, Any]:
    try:
        raise ValueError("order 17 could not be processed")
    except ValueError as error:
        return {"message": "Task exception was never retrieved", "exception": error}


def main() -> None:
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed at the end
    handler = logging.StreamHandler(devnull)
    logging.getLogger("asyncio").addHandler(handler)
    logging.getLogger("asyncio").propagate = False
    loop = asyncio.new_event_loop()
    original = asyncio.BaseEventLoop.call_exception_handler
    threadcrash.instrument(rate_limit=0, **providers())
    wrapped = asyncio.BaseEventLoop.call_exception_handler
    assert wrapped is not original
    context = _error_context()

    def swap(method: Any) -> None:
        asyncio.BaseEventLoop.call_exception_handler = method  # type: ignore[method-assign]

    def tasks(count: int) -> None:
        async def run() -> None:
            await asyncio.gather(*(_noop() for _ in range(count)))

        loop.run_until_complete(run())

    def tasks_plain(count: int) -> None:
        swap(original)
        try:
            tasks(count)
        finally:
            swap(wrapped)

    def errors(count: int) -> None:
        for _ in range(count):
            loop.call_exception_handler(context)

    def errors_plain(count: int) -> None:
        swap(original)
        try:
            errors(count)
        finally:
            swap(wrapped)

    hot = interleaved({"plain": tasks_plain, "instrumented": tasks}, rounds=80, per_round=4000)
    cold = interleaved({"plain": errors_plain, "instrumented": errors}, rounds=40, per_round=200)
    threadcrash.uninstrument()
    loop.close()
    devnull.close()
    print(f"python {sys.version.split()[0]}")
    print(f"task, no failure, plain:          {hot['plain'] * 1e6:8.2f} us")
    print(f"task, no failure, instrumented:   {hot['instrumented'] * 1e6:8.2f} us")
    print(f"no-failure ratio:                 {hot['instrumented'] / hot['plain']:8.3f}  (<= 1.05)")
    print(f"handler, default handler only:    {cold['plain'] * 1e6:8.1f} us")
    print(f"handler, threadcrash + default:   {cold['instrumented'] * 1e6:8.1f} us")
    print(f"error-path ratio:                 {cold['instrumented'] / cold['plain']:8.3f}")


if __name__ == "__main__":
    main()
