"""Cost of a thread that does not crash, with and without ``instrument()`` (parent capture on).

Each operation starts a thread that returns at once and joins it, inside an active span so the
parent capture at ``Thread.start`` has work to do. Printed: the ratio (target: <= 1.05).
"""

from __future__ import annotations

import sys
import threading

import threadcrash
from benchmarks._common import interleaved, providers


def _nothing() -> None:
    return None


def main() -> None:
    chosen = providers()
    tracer = chosen["tracer_provider"].get_tracer("bench")
    original_start = threading.Thread.start
    threadcrash.instrument(**chosen)
    instrumented_start = threading.Thread.start
    assert instrumented_start is not original_start

    def start_join(count: int) -> None:
        with tracer.start_as_current_span("request"):
            for _ in range(count):
                thread = threading.Thread(target=_nothing)
                thread.start()
                thread.join()

    def plain(count: int) -> None:
        threading.Thread.start = original_start  # type: ignore[method-assign]
        try:
            start_join(count)
        finally:
            threading.Thread.start = instrumented_start  # type: ignore[method-assign]

    result = interleaved({"plain": plain, "instrumented": start_join}, rounds=60, per_round=300)
    threadcrash.uninstrument()
    ratio = result["instrumented"] / result["plain"]
    print(f"python {sys.version.split()[0]}")
    print(f"thread start+join, plain:        {result['plain'] * 1e6:8.1f} us")
    print(f"thread start+join, instrumented: {result['instrumented'] * 1e6:8.1f} us")
    print(f"clean-thread ratio:              {ratio:8.3f}  (target <= 1.05)")


if __name__ == "__main__":
    main()
