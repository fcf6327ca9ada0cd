"""Small helpers shared by the tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
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
