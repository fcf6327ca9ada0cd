"""Small helpers shared by the tests."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import threadcrash


def run_thread(target: Callable[[], object], name: str | None = None) -> threading.Thread:
    """Start a real thread, wait for it (bounded), and return it."""
    thread = threading.Thread(target=target, name=name)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "thread did not finish in 10 s"
    return thread


PACKAGE_DIR = str(Path(threadcrash.__file__).resolve().parent)


def our_frames(stderr: str) -> list[str]:
    """The traceback lines of ``stderr`` that point into threadcrash's own code.

    Checked by path, not by the word: a clone in a folder called ``threadcrash`` has that word
    in every traceback.
    """
    return [line for line in stderr.splitlines() if PACKAGE_DIR in line]


def collect_until(done: Callable[[], object], attempts: int = 10) -> bool:
    """Run the garbage collector until ``done()`` is true, at most ``attempts`` times.

    Since 3.14 the collector has changed (incremental in 3.14.0-3.14.4, generational again
    after): a finalizer's report must not depend on one collection finding everything.
    """
    for _ in range(attempts):
        gc.collect()
        if done():
            return True
        threading.Event().wait(0.01)
    return bool(done())


ENV_PREFIXES = ("OTEL_", "THREADCRASH_")


def clean_env(*, drop: Iterable[str] = (), **extra: str) -> dict[str, str]:
    """The environment less ``OTEL_*``, ``THREADCRASH_*`` and ``drop`` variables, plus ``extra``."""
    dropped = set(drop)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES) and k not in dropped
    }
    env.update(extra)
    return env


def run_python(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    timeout: float = 60,
    cwd: Path | str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run this Python with ``args``, its output captured as text, bounded by ``timeout``.

    ``env`` is the child's whole environment; by default :func:`clean_env`'s.
    """
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env() if env is None else dict(env),
        cwd=cwd,
        check=False,
    )
