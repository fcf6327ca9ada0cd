"""The ``future`` source's cost in instructions, counted by valgrind's callgrind.

A loaded machine moves the time ratios of ``bench_future.py`` by a few hundredths; the count of
instructions executed does not move. For each case (a no-op task, a failing task whose
``result()`` is read; both submitted inside a span to a one-thread ``ThreadPoolExecutor``), a
child runs N operations, plain (never instrumented) or instrumented, under callgrind,
and so does one that runs none: the difference over N is the cost of one operation. Printed:
instrumented / plain per operation. Skipped, with a line saying so, where valgrind is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from contextlib import suppress

OPERATIONS = 2000
_COLLECTED = re.compile(r"Collected : (\d+)")

CHILD = """
import concurrent.futures as cf, os, sys
from contextlib import suppress
import threadcrash
from benchmarks._common import providers
from benchmarks.bench_future import _fail, _nothing

case, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
task = _fail if case == "failing" else _nothing
chosen = providers()
tracer = chosen["tracer_provider"].get_tracer("bench")
if mode == "instrumented":
    threadcrash.instrument(**chosen)
pool = cf.ThreadPoolExecutor(max_workers=1)

def run(n):
    with tracer.start_as_current_span("request"):
        for _ in range(n):
            future = pool.submit(task)
            with suppress(ValueError):
                future.result()

run(200)  # warm: the specializing interpreter settles
run(count)
pool.shutdown()
os._exit(0)  # the same exit for every run: no exit steps counted
"""


def instructions(case: str, mode: str, count: int) -> int:
    """Instructions executed by one child under callgrind."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    with suppress(KeyError):
        del env["PYTHONDONTWRITEBYTECODE"]  # compiled once, not counted in every child
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CHILD,
            case,
            mode,
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=600,
    )
    found = _COLLECTED.search(result.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def per_operation(case: str, mode: str) -> float:
    """Instructions of one submit + result, from a run of N operations minus a run of none."""
    return (instructions(case, mode, OPERATIONS) - instructions(case, mode, 0)) / OPERATIONS


def main() -> None:
    print(f"python {sys.version.split()[0]}")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: instruction counts skipped")
        return
    instructions("noop", "plain", 0)  # writes the bytecode caches that every later run reads
    print(f"{'submit + result':20} {'plain':>11} {'instrumented':>13} {'ratio':>6}  target")
    for label, case, target in (
        ("no-op task", "noop", "1.05"),
        ("failing task, read", "failing", "1.05"),
    ):
        plain, ours = per_operation(case, "plain"), per_operation(case, "instrumented")
        print(f"{label:20} {plain:9.0f} in {ours:10.0f} in {ours / plain:6.3f}  <= {target}")


if __name__ == "__main__":
    main()
