"""No correctness rests on the GIL: races between instrumenting and running threads."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

import threadcrash
from tests.otel import Otel
from threadcrash._emit import CardinalityCap


@pytest.fixture
def tiny_switch_interval() -> Iterator[None]:
    """Switch threads as often as CPython allows, so races show up (with or without a GIL)."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(saved)


def test_a_thread_start_that_began_before_uninstrument_still_starts(otel: Otel) -> None:
    """A ``Thread.start`` looked up while instrumented, run after ``uninstrument()``, works."""
    threadcrash.instrument(**otel.providers)
    start = threading.Thread.start  # another thread got here first...
    threadcrash.uninstrument()  # ...then this one uninstrumented
    ran = threading.Event()
    thread = threading.Thread(target=ran.set)
    start(thread)
    thread.join(timeout=10)
    assert ran.is_set()


@pytest.mark.usefixtures("tiny_switch_interval")
def test_the_role_cap_never_lets_more_than_its_limit_through() -> None:
    """Eight threads offering 200 new values each at once: at most ``limit`` are kept."""
    cap = CardinalityCap(10)
    kept: list[set[str | None]] = [set() for _ in range(8)]
    barrier = threading.Barrier(8, timeout=10)

    def offer(index: int) -> None:
        barrier.wait()
        for value in range(200):
            kept[index].add(cap(f"role-{index}-{value}"))

    threads = [threading.Thread(target=offer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    roles = set().union(*kept) - {"other"}
    assert 0 < len(roles) <= 10
