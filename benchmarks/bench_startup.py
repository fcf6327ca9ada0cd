"""Start-up cost of zero-code activation: ``python -c pass`` plain and under ``threadcrash run``.

Measured side by side, interleaved: the plain interpreter; the same with threadcrash's
``sitecustomize`` on ``PYTHONPATH`` (what the program itself pays before its first line), with
nothing asking for export and with an OTLP endpoint (providers built, nothing sent); and the
whole ``threadcrash run -- python -c pass`` command (two interpreter start-ups: the command
then the program it becomes). Printed: medians and ratios to the plain start-up.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from threadcrash import _run


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "THREADCRASH_"))}
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def main() -> None:
    program = [sys.executable, "-c", "pass"]
    bootstrap = _run.environment(_env())
    cases = {
        "plain": (program, _env()),
        "bootstrap, no export": (program, bootstrap),
        "bootstrap, OTLP endpoint": (
            program,
            {**bootstrap, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
        ),
        "threadcrash run, no export": (
            [sys.executable, "-m", "threadcrash", "run", "--", *program],
            _env(),
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(15):
        for name, (argv, env) in cases.items():
            start = time.perf_counter()
            subprocess.run(argv, env=env, check=True, timeout=60)
            samples[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"python {sys.version.split()[0]}")
    for name, value in medians.items():
        ratio = value / medians["plain"]
        print(f"{name:28} {value * 1e3:8.1f} ms   ratio {ratio:5.2f}")


if __name__ == "__main__":
    main()
