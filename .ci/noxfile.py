"""Test sessions: the suite on every supported Python, the slow tiers and lint on the newest.

Run from the repository's root: ``python3 -m nox -f .ci/noxfile.py`` (nox moves into this
folder to load it; every session moves back to the root).

The noxfile finds its interpreters itself: on ``PATH``, then in pyenv's versions, and for the
Pythons pyenv does not have (3.14, 3.15) in a Debian unstable root that ``.ci/debian-root``
builds once per machine (as root) and runs commands in. Each session keeps its own venv under
``.nox/``, made with the interpreter it tests (inside the root for the root's Pythons). A session
whose interpreter cannot be had is skipped with one line saying how to get it, and fails under
``CI=true``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nox

Run = Callable[[nox.Session, "Interpreter"], None]

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_ROOT = ROOT / ".ci" / "debian-root"
VENVS = ROOT / ".nox"

PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]
NEWEST = PYTHONS[-1]
FROM_DEBIAN_ROOT = ("3.14", "3.15")
BENCHMARK_PYTHONS = ["3.11", "3.13", "3.14"]
CONSTRAINTS = "tests/constraints.txt"
DASHBOARD_MYPY = [
    "mypy",
    "--config-file=",
    "--strict",
    "--warn-unreachable",
    "--python-version=3.11",
    "--follow-imports=silent",
    "tests/deploy/grafana_dashboard.py",
    "tests/deploy/test_deploy_dashboard_code.py",
]

nox.options.tags = ["lint", "tests", "slow"]
nox.options.download_python = "never"


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _pyenv_python(version: str) -> str | None:
    """The newest ``version.N`` in pyenv (not a dev, debug or free-threaded build)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found: list[tuple[int, Path]] = []
    for folder in (pyenv_root / "versions").glob(f"{version}.*"):
        patch = folder.name[len(version) + 1 :]
        python = folder / "bin" / f"python{version}"
        if patch.isdigit() and python.exists():
            found.append((int(patch), python))
    return str(max(found)[1]) if found else None


@functools.cache
def _debian_root_ready() -> bool:
    """The root exists and works, or was just built (root user only: chroot and debootstrap)."""
    if subprocess.run([DEBIAN_ROOT, "check"], check=False).returncode == 0:
        return True
    if os.geteuid() != 0:
        return False
    print("building the Debian root for Python 3.14 and 3.15 (once per machine)", file=sys.stderr)
    return subprocess.run([DEBIAN_ROOT, "build"], check=False).returncode == 0


class Interpreter:
    """A Python to test with: a path on this machine, or a name inside the Debian root."""

    def __init__(self, executable: str, *, in_root: bool) -> None:
        self.executable = executable
        self.in_root = in_root

    def command(self, *args: str) -> list[str]:
        """``args`` run where this interpreter lives (inside the root for the root's Pythons)."""
        return [str(DEBIAN_ROOT), "run", *args] if self.in_root else list(args)

    def venv(self, session: nox.Session, *install: str) -> Path:
        """The session's venv (made once, reused), with ``install`` pip-installed into it."""
        venv = VENVS / session.name
        # (not bin/python: in a venv made inside the root it is a dangling link out here)
        if not (venv / "pyvenv.cfg").exists():
            session.run(*self.command(self.executable, "-m", "venv", "--clear", str(venv)))
        session.run(
            *self.command(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *install),
            env={"PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        return venv


def _runs(executable: str | None, version: str) -> bool:
    """``executable`` is a working Python ``version`` (a pyenv shim of another may not be)."""
    if executable is None:
        return False
    check = f"import sys; sys.exit(sys.version_info[:2] != ({version.replace('.', ',')}))"
    result = subprocess.run([executable, "-c", check], capture_output=True, check=False, timeout=60)
    return result.returncode == 0


@functools.cache
def _find(version: str) -> Interpreter | None:
    for local in (shutil.which(f"python{version}"), _pyenv_python(version)):
        if _runs(local, version):
            return Interpreter(str(local), in_root=False)
    if version in FROM_DEBIAN_ROOT and _debian_root_ready():
        return Interpreter(f"python{version}", in_root=True)
    return None


def _how_to_get(version: str) -> str:
    if version in FROM_DEBIAN_ROOT:
        return "as root, `.ci/debian-root build` makes a Debian unstable root with 3.14 and 3.15"
    return f"`pyenv install {version}` (or put python{version} on PATH)"


def _interpreter(session: nox.Session, version: str) -> Interpreter:
    """The interpreter of ``version``; missing: skip with how to get it (fail under CI)."""
    found = _find(version)
    if found is None:
        message = f"Python {version} not found: {_how_to_get(version)}"
        if _on_ci():
            session.error(message)
        session.skip(message)
    return found  # type: ignore[return-value]  # session.error and session.skip do not return


def _newest_available(session: nox.Session) -> tuple[str, Interpreter]:
    for version in reversed(PYTHONS):
        found = _find(version)
        if found is not None:
            return version, found
    session.error(f"none of Python {', '.join(PYTHONS)} found")
    raise AssertionError  # unreachable: session.error raises


def _pytest(session: nox.Session, python: Interpreter, extras: str, *args: str) -> None:
    venv = python.venv(session, "-c", CONSTRAINTS, "-e", f".[{extras}]")
    session.run(*python.command(str(venv / "bin" / "python"), "-m", "pytest", *args))


def _sessions(name: str, versions: list[str], tags: list[str]) -> Callable[[Run], Run]:
    """Register ``run`` as one session per version, ``name-3.N``, each run with its interpreter.

    (nox's own ``python=`` makes the venv with an interpreter it finds itself: the root's
    interpreters live in another file system.)
    """

    def register(run: Run) -> Run:
        for version in versions:

            def session(session: nox.Session, version: str = version) -> None:
                session.chdir(ROOT)
                run(session, _interpreter(session, version))

            session.__doc__ = run.__doc__
            nox.session(name=f"{name}-{version}", venv_backend="none", tags=tags)(session)
        return run

    return register


@_sessions("tests", PYTHONS, tags=["tests"])
def tests(session: nox.Session, python: Interpreter) -> None:
    """Fast tiers: pure record tests and in-process tests with real threads and the SDK.

    Also, on every Python but the newest (whose slow tier has them), the end-to-end tests of
    pools and processes: how each Python ends its pools' workers and children differs.
    """
    _pytest(session, python, "tests", "-m", "not slow", *session.posargs)
    if session.name != f"tests-{NEWEST}" and not session.posargs:
        _pytest(session, python, "tests", "-m", "slow", "tests/test_future_process_e2e.py")


@_sessions("slow", [NEWEST], tags=["slow"])
def slow(session: nox.Session, python: Interpreter) -> None:
    """Subprocess, fork and end-to-end tiers: real interpreters, OTLP receivers, Prometheus."""
    _pytest(session, python, "tests,prometheus", "-m", "slow", *session.posargs)


@_sessions("excepthooks", [v for v in FROM_DEBIAN_ROOT if v != NEWEST], tags=["slow"])
def excepthooks(session: nox.Session, python: Interpreter) -> None:
    """CPython's own excepthook tests with threadcrash in front (the slow tier has the newest)."""
    _pytest(
        session, python, "tests", "-m", "slow", "tests/test_cpython_suites.py", "-k", "excepthook"
    )


@nox.session(venv_backend="none", tags=["lint"])
def lint(session: nox.Session) -> None:
    """Ruff and mypy --strict over the package, the tests and the benchmarks, on the newest."""
    session.chdir(ROOT)
    version, python = _newest_available(session)
    session.log(f"lint on Python {version}")
    venv = python.venv(session, "-c", CONSTRAINTS, "-e", ".[lint,tests,prometheus]")
    tools = (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"], DASHBOARD_MYPY)
    # (the last: the dashboard generator against the Grafana SDK's own types, at Python 3.11)
    for tool in tools:
        session.run(*python.command(str(venv / "bin" / tool[0]), *tool[1:]))


@_sessions("benchmarks", BENCHMARK_PYTHONS, tags=["benchmarks"])
def benchmarks(session: nox.Session, python: Interpreter) -> None:
    """Print the benchmark ratios (not part of the default sessions)."""
    venv = python.venv(session, "-e", ".")
    for script in sorted(Path("benchmarks").glob("bench_*.py")):
        # run as modules: they import benchmarks._common
        session.run(
            *python.command(str(venv / "bin" / "python"), "-m", f"benchmarks.{script.stem}")
        )


@_sessions("mutants", ["3.13"], tags=["mutants"])
def mutants(session: nox.Session, python: Interpreter) -> None:
    """Mutation testing of the core with mutmut; prints a score per module (not in CI's run)."""
    venv = python.venv(session, "-c", CONSTRAINTS, "-e", ".[tests]", "mutmut==3.8.1")
    session.run(*python.command(str(venv / "bin" / "python"), ".ci/mutants.py", *session.posargs))
