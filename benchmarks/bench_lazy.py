"""Invisible until something breaks: start-up with an endpoint set, and the exit times.

Start-up, medians over fresh interpreters, the cases alternating run by run (each run times
itself from its first line to the end of its set-up, so interpreter start-up is left out):

- ``import opentelemetry.trace``: the yardstick, the OpenTelemetry API alone;
- ``threadcrash, endpoint``: ``import threadcrash; threadcrash.instrument()`` with
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` set: the hooks, and nothing built until a crash.

Exit, medians of whole programs from the end of their work to the end of the process:

- threadcrash imported, not instrumented: the interpreter's own exit, the same modules loaded;
- no crash, endpoint set: nothing was built, so nothing is flushed;
- one thread crash, a collector that refuses connections (a closed port);
- one thread crash, a collector that accepts and never answers (bounded by ``flush_timeout``).

Printed: milliseconds per case, the start-up ratio to the yardstick, and the exit times.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from tests.collectors import StalledCollector, refused_endpoint

YARDSTICK = "import opentelemetry.trace\n"
THREADCRASH = "import threadcrash\nthreadcrash.instrument()\n"
ENDPOINT = "http://127.0.0.1:9"

EXIT_PROGRAM = """
import sys, threading, time
import threadcrash
if sys.argv[1] != "imported":
    threadcrash.instrument()
if sys.argv[1] == "crash":
    thread = threading.Thread(target=lambda: 1 / 0, name="worker")
    thread.start()
    thread.join()
sys.stderr.flush()
print(time.time(), flush=True)
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "THREADCRASH_"))}
    env.update(extra)
    return env


def _timed(body: str) -> str:
    return (
        "import time\n_start = time.perf_counter()\n"
        + body
        + "print(time.perf_counter() - _start, flush=True)\n"
    )


def startup(body: str, env: dict[str, str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _timed(body)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    return float(done.stdout.strip().splitlines()[-1])


def exit_time(mode: str, endpoint: str) -> float:
    """Seconds from the program's last line to the end of the process."""
    env = _env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, THREADCRASH_FLUSH_TIMEOUT="3")
    done = subprocess.run(
        [sys.executable, "-c", EXIT_PROGRAM, mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    ended = time.time()
    return ended - float(done.stdout.strip().splitlines()[-1])


def _compile_package() -> None:
    """Byte-compile threadcrash first, as an installed package is.

    With PYTHONDONTWRITEBYTECODE set (as on these machines), stale bytecode would otherwise be
    compiled again in every run, and timed.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("threadcrash")
    assert spec is not None
    assert spec.submodule_search_locations
    for folder in spec.submodule_search_locations:
        compileall.compile_dir(folder, quiet=1)


def main() -> None:
    _compile_package()
    rounds = 21
    cases = {
        "import opentelemetry.trace": (YARDSTICK, _env()),
        "threadcrash, endpoint": (THREADCRASH, _env(OTEL_EXPORTER_OTLP_ENDPOINT=ENDPOINT)),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    order = list(cases.items())
    for index in range(rounds):
        for name, (body, env) in order if index % 2 == 0 else reversed(order):
            samples[name].append(startup(body, env))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    yardstick = medians["import opentelemetry.trace"]
    print(f"python {sys.version.split()[0]}; start-up, median of {rounds} fresh interpreters")
    for name, value in medians.items():
        print(f"{name:>28}: {value * 1e3:7.1f} ms  ({value / yardstick:.2f} x)")

    stalled = StalledCollector()
    try:
        exits: dict[str, list[float]] = {
            "imported, not instrumented": [],
            "no crash, endpoint set": [],
            "one crash, refused port": [],
            "one crash, stalled collector": [],
        }
        for _ in range(7):
            exits["imported, not instrumented"].append(exit_time("imported", refused_endpoint()))
            exits["no crash, endpoint set"].append(exit_time("none", refused_endpoint()))
            exits["one crash, refused port"].append(exit_time("crash", refused_endpoint()))
            exits["one crash, stalled collector"].append(exit_time("crash", stalled.endpoint))
    finally:
        stalled.close()
    print("exit time (flush_timeout 3 s), median of 7 programs")
    for name, values in exits.items():
        print(f"{name:>28}: {statistics.median(values) * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
