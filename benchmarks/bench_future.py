"""Cost of the ``future`` source on futures that are read, with and without ``instrument()``.

Each operation submits a task to a one-thread ``ThreadPoolExecutor`` inside an active span (so
the parent capture at ``submit()`` has work to do) and reads its result. Three kinds of task:
one that does nothing, one that works for about 50 microseconds, one that raises (its exception
read through ``result()``).

Plain and instrumented run side by side in two child processes pinned to the same core, one
never instrumented and one after ``instrument()``: the parent asks each in turn for a round (in
alternating order) and each child times its own round. Two processes, because swapping
``Future``'s methods in one process between rounds, as this benchmark once did, makes CPython
drop its specialized bytecode at every swap; counted by callgrind, that added about 1,600
instructions per operation to the plain rounds and 3,250 to the instrumented ones, a cost no
program pays.

The hand-over between the two threads is the bulk of the time and is bimodal on a busy
machine, so the load drifts under the rounds: the figure is the median of the rounds' ratios,
with their quartiles as the spread within the run. Printed: the three ratios with their
targets (<= 1.05, <= 1.01, <= 1.05).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import IO

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


TASKS: dict[str, Callable[[], None]] = {
    "no-op task": _nothing,
    "50 us task": _spin(50e-6),
    "failing task, read": _fail,
}
CASES = (  # label, rounds, operations per round, target
    ("no-op task", 120, 200, "1.05"),
    ("50 us task", 80, 100, "1.01"),
    ("failing task, read", 120, 200, "1.05"),
)


def child(mode: str, cpu: int | None) -> None:
    """Run rounds as the parent asks (``<case> <count>`` per line), printing each one's seconds."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    chosen = providers()
    tracer = chosen["tracer_provider"].get_tracer("bench")
    if mode == "instrumented":
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

    runs = {label: submit_and_read(task) for label, task in TASKS.items()}
    for line in sys.stdin:
        label, _, count = line.rstrip("\n").rpartition(" ")
        start = time.perf_counter()
        runs[label](int(count))
        print(time.perf_counter() - start, flush=True)
    pool.shutdown()


class Child:
    """One child process of :func:`child`, asked for rounds over its standard input."""

    def __init__(self, mode: str, cpu: int | None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_future", "--child", mode, str(cpu)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.requests: IO[str] = self.process.stdin
        self.replies: IO[str] = self.process.stdout

    def round(self, label: str, count: int) -> float:
        """Seconds per operation of one round of ``count`` operations."""
        self.requests.write(f"{label} {count}\n")
        self.requests.flush()
        return float(self.replies.readline()) / count

    def close(self) -> None:
        self.requests.close()
        self.process.wait(timeout=60)


def paired_ratios(
    plain: Callable[[], float], instrumented: Callable[[], float], *, rounds: int
) -> tuple[float, float, float, list[float]]:
    """Quartiles of instrumented / plain over rounds run back to back, and the median times.

    The first round of each is a warm-up and is dropped; the order alternates round by round.
    """
    ratios: list[float] = []
    times: dict[str, list[float]] = {"plain": [], "instrumented": []}
    for index in range(rounds + 1):
        pair = [("plain", plain), ("instrumented", instrumented)]
        taken = {name: case() for name, case in (pair if index % 2 == 0 else pair[::-1])}
        if index:
            ratios.append(taken["instrumented"] / taken["plain"])
            for name, seconds in taken.items():
                times[name].append(seconds)
    low, median, high = statistics.quantiles(ratios, n=4)
    return median, low, high, [statistics.median(times[name]) for name in times]


def main() -> None:
    cpu = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    plain, instrumented = Child("plain", cpu), Child("instrumented", cpu)
    try:
        results = {
            label: paired_ratios(
                partial(plain.round, label, count),
                partial(instrumented.round, label, count),
                rounds=rounds,
            )
            for label, rounds, count, _ in CASES
        }
    finally:
        plain.close()
        instrumented.close()
    print(f"python {sys.version.split()[0]}")
    print(
        f"{'submit + result':20} {'plain':>9} {'instrumented':>13} {'ratio':>6}"
        f" {'quartiles':>13}  target"
    )
    for label, _, _, target in CASES:
        ratio, low, high, (plain_s, ours_s) = results[label]
        print(
            f"{label:20} {plain_s * 1e6:7.2f}us {ours_s * 1e6:11.2f}us {ratio:6.3f}"
            f"  {low:5.3f}-{high:5.3f}  <= {target}"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], None if sys.argv[3] == "None" else int(sys.argv[3]))
    else:
        main()
