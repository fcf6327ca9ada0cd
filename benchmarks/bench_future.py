"""Cost of the ``future`` source on futures that are read, with and without ``instrument()``.

Each operation submits a task to a ``ThreadPoolExecutor`` inside an active span (so the parent
capture at ``submit()`` has work to do) and reads its result. Three kinds of task: one that does
nothing, one that works for about 50 microseconds, one that raises (its exception read through
``result()``). The plain and instrumented cases alternate round by round, the instrumented one
with threadcrash's wrappers of ``Future`` in place, the plain one with CPython's own methods.

The hand-over between the two threads is the bulk of the time and is bimodal on a busy
machine, so the load drifts under the rounds: each round pairs one plain and one instrumented
run, back to back (in alternating order), and the figure is the median of the rounds' ratios,
with their quartiles as the spread within the run. Printed: the three ratios with their
targets (<= 1.05, <= 1.01, <= 1.05).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import threadcrash
from benchmarks._common import providers
from threadcrash._sources import _future


def _nothing() -> None:
    return None


def _fail() -> None:
    raise ValueError("read by the caller")


def _spin(seconds: float) -> Callable[[], None]:
    def work() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    return work


def paired_ratios(
    plain: Callable[[int], None],
    instrumented: Callable[[int], None],
    *,
    rounds: int,
    per_round: int,
) -> tuple[float, float, float, list[float]]:
    """Quartiles of instrumented / plain over rounds run back to back, and the median times.

    The first round of each is a warm-up and is dropped; the order alternates round by round.
    """
    ratios: list[float] = []
    times: dict[str, list[float]] = {"plain": [], "instrumented": []}
    for index in range(rounds + 1):
        pair = [("plain", plain), ("instrumented", instrumented)]
        taken: dict[str, float] = {}
        for name, case in pair if index % 2 == 0 else reversed(pair):
            start = time.perf_counter()
            case(per_round)
            taken[name] = (time.perf_counter() - start) / per_round
        if index:
            ratios.append(taken["instrumented"] / taken["plain"])
            for name, seconds in taken.items():
                times[name].append(seconds)
    low, median, high = statistics.quantiles(ratios, n=4)
    return median, low, high, [statistics.median(times[name]) for name in times]


@contextmanager
def _cpython_methods() -> Iterator[None]:
    """CPython's own ``Future`` and pool-result methods, for the length of a plain round."""
    ours = {key: vars(key[0])[key[1]] for key in _future._patched}
    for (cls, name), (_, original) in _future._patched.items():
        if original is _future._ABSENT:  # a method or attribute threadcrash adds (__del__)
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    try:
        yield
    finally:
        for (cls, name), wrapper in ours.items():
            setattr(cls, name, wrapper)


def main() -> None:
    if hasattr(os, "sched_setaffinity"):  # one core: the hand-over between threads is steadier
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    chosen = providers()
    tracer = chosen["tracer_provider"].get_tracer("bench")
    threadcrash.instrument(**chosen)
    assert _future._patched, "the future source is not installed"
    pool = cf.ThreadPoolExecutor(max_workers=1)

    def submit_and_read(task: Callable[[], None]) -> Callable[[int], None]:
        def run(count: int) -> None:
            with tracer.start_as_current_span("request"):
                for _ in range(count):
                    future = pool.submit(task)
                    with suppress(ValueError):
                        future.result()

        return run

    def plain(run: Callable[[int], None]) -> Callable[[int], None]:
        def case(count: int) -> None:
            with _cpython_methods():
                run(count)

        return case

    results = {}
    for label, task, rounds, per_round in (
        ("no-op task", _nothing, 120, 200),
        ("50 us task", _spin(50e-6), 80, 100),
        ("failing task, read", _fail, 120, 200),
    ):
        run = submit_and_read(task)
        results[label] = paired_ratios(plain(run), run, rounds=rounds, per_round=per_round)
    pool.shutdown()
    threadcrash.uninstrument()
    print(f"python {sys.version.split()[0]}")
    print(
        f"{'submit + result':20} {'plain':>9} {'instrumented':>13} {'ratio':>6}"
        f" {'quartiles':>13}  target"
    )
    for (label, (ratio, low, high, (plain_s, ours_s))), target in zip(
        results.items(), ("1.05", "1.01", "1.05"), strict=True
    ):
        print(
            f"{label:20} {plain_s * 1e6:7.2f}us {ours_s * 1e6:11.2f}us {ratio:6.3f}"
            f"  {low:5.3f}-{high:5.3f}  <= {target}"
        )


if __name__ == "__main__":
    main()
