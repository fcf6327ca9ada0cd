"""Test sessions: the suite on every supported Python, the slow tiers and lint on the newest.

Run from the repository's root: ``python3 -m nox -f .ci/noxfile.py`` (nox moves into this
folder to load it; every session moves back to the root).
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent.parent

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
NEWEST = PYTHONS[-1]
CONSTRAINTS = "tests/constraints.txt"
DASHBOARD_MYPY = (
    "mypy",
    "--config-file=",
    "--strict",
    "--warn-unreachable",
    "--python-version=3.11",
    "--follow-imports=silent",
    "tests/deploy/grafana_dashboard.py",
    "tests/deploy/test_deploy_dashboard_code.py",
)

nox.options.sessions = ["lint", "tests", "slow"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Fast tiers: pure record tests and in-process tests with real threads and the SDK."""
    session.chdir(ROOT)
    session.install("-c", CONSTRAINTS, "-e", ".[tests]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session(python=NEWEST)
def slow(session: nox.Session) -> None:
    """Subprocess, fork and end-to-end tiers: real interpreters, OTLP receivers, Prometheus."""
    session.chdir(ROOT)
    session.install("-c", CONSTRAINTS, "-e", ".[tests,prometheus]")
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session(python=NEWEST)
def lint(session: nox.Session) -> None:
    """Ruff and mypy --strict over the package, the tests and the benchmarks."""
    session.chdir(ROOT)
    session.install("-c", CONSTRAINTS, "-e", ".[lint,tests,prometheus]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    # The dashboard generator against the Grafana SDK's own types (Python 3.11+; skipped above).
    session.run(*DASHBOARD_MYPY)


@nox.session(python=NEWEST)
def benchmarks(session: nox.Session) -> None:
    """Print the benchmark ratios (not part of the default sessions)."""
    session.chdir(ROOT)
    session.install("-e", ".")
    for script in sorted(Path("benchmarks").glob("bench_*.py")):
        session.run("python", "-m", f"benchmarks.{script.stem}")  # they import benchmarks._common


@nox.session(python=NEWEST, default=False)
def mutants(session: nox.Session) -> None:
    """Mutation testing of the core with mutmut; prints a score per module (not in CI's run)."""
    session.chdir(ROOT)
    session.install("-c", CONSTRAINTS, "-e", ".[tests]", "mutmut==3.8.1")
    session.run("python", ".ci/mutants.py", *session.posargs)
