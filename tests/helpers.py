"""Small helpers shared by the tests."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_thread(target: Callable[[], object], name: str | None = None) -> threading.Thread:
    """Start a real thread, wait for it (bounded), and return it."""
    thread = threading.Thread(target=target, name=name)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "thread did not finish in 10 s"
    return thread
