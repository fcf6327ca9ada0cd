"""Storm throughput: crashes per second with every signal on, against CPython's hook alone.

A storm is the same bug killing thread after thread. Each case crashes real threads, eight at a
time, as fast as they can be started; CPython's default hook prints each traceback (stderr is
``/dev/null``, so that is its formatting and writing). threadcrash runs in front of it with all
four signals on, through batch processors, chaining to it as it does by default: once with
storm control at its defaults (``burst`` 10, then 1 report per second per fingerprint) and once
with it off (``rate_limit=0``: every crash is a span, a log record and a structlog event).
The same is measured for the hook alone, called with a fresh exception each time, without the
cost of starting threads. Printed: crashes per second, and each case's throughput as a ratio
of CPython's.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

import threadcrash
from benchmarks._common import providers

WAVE = 8


def _storm() -> None:
    raise ConnectionError("upstream reset the connection")


def _crash_threads(count: int) -> None:
    for _ in range(0, count, WAVE):
        threads = [threading.Thread(target=_storm) for _ in range(WAVE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _call_hook(count: int) -> None:
    hook = threading.excepthook
    current = threading.current_thread()
    for _ in range(count):
        try:
            _storm()
        except ConnectionError as error:
            hook(threading.ExceptHookArgs([ConnectionError, error, error.__traceback__, current]))


def _measure(
    run: Callable[[int], None], options: dict[str, dict[str, Any] | None], rounds: int, count: int
) -> dict[str, float]:
    """Median seconds per crash of each case, cases alternating round by round.

    ``instrument()`` and ``uninstrument()`` happen outside the timed part; stderr (where
    CPython's hook prints) is ``/dev/null``. Each round starts with fresh storm state, so the
    burst of full reports is part of every round.
    """
    samples: dict[str, list[float]] = {name: [] for name in options}
    with open(os.devnull, "w") as devnull:
        for _ in range(rounds):
            for name, settings in options.items():
                if settings is not None:
                    threadcrash.instrument(**settings)
                saved, sys.stderr = sys.stderr, devnull
                try:
                    start = time.perf_counter()
                    run(count)
                    samples[name].append((time.perf_counter() - start) / count)
                finally:
                    sys.stderr = saved
                    threadcrash.uninstrument()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(io.StringIO()),
    )
    chosen = providers()
    print(f"python {sys.version.split()[0]}; crashes per second (median of interleaved rounds)")
    print(f"{'':>32} {'CPython hook':>13} {'storm ctl on':>13} {'storm ctl off':>14}")
    for label, run, rounds, per_round in (
        ("real threads, 8 at a time", _crash_threads, 15, 800),
        ("the hook alone", _call_hook, 15, 2000),
    ):
        result = _measure(
            run,
            {"cpython": None, "on": dict(chosen), "off": dict(chosen, rate_limit=0)},
            rounds,
            per_round,
        )
        rates = {name: 1.0 / seconds for name, seconds in result.items()}
        print(
            f"{label:>32} {rates['cpython']:>13,.0f} {rates['on']:>13,.0f} {rates['off']:>14,.0f}"
        )
        print(
            f"{'ratio to CPython':>32} {1.0:>13.2f} {rates['on'] / rates['cpython']:>13.2f}"
            f" {rates['off'] / rates['cpython']:>14.2f}"
        )
    print("ratio = crashes/s with threadcrash (4 signals, chained to CPython's hook) / CPython's")


if __name__ == "__main__":
    main()
