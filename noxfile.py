"""Test sessions: the suite on every supported Python, the slow tiers and lint on the newest."""

from __future__ import annotations

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
NEWEST = PYTHONS[-1]
CONSTRAINTS = "tests/constraints.txt"

nox.options.sessions = ["lint", "tests", "slow"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Fast tiers: pure record tests and in-process tests with real threads and the SDK."""
    session.install("-c", CONSTRAINTS, "-e", ".[tests]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session(python=NEWEST)
def slow(session: nox.Session) -> None:
    """Subprocess and end-to-end tiers: real interpreters, OTLP receivers, a real Prometheus."""
    session.install("-c", CONSTRAINTS, "-e", ".[tests,prometheus]")
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session(python=NEWEST)
def lint(session: nox.Session) -> None:
    """Ruff and mypy --strict over the package, the tests and the benchmarks."""
    session.install("-c", CONSTRAINTS, "-e", ".[lint,tests,prometheus]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(python=NEWEST)
def benchmarks(session: nox.Session) -> None:
    """Print the benchmark ratios (not part of the default sessions)."""
    session.install("-e", ".")
    for script in sorted(__import__("pathlib").Path("benchmarks").glob("bench_*.py")):
        session.run("python", "-m", f"benchmarks.{script.stem}")  # they import benchmarks._common
