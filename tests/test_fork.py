"""After fork, the child's counter starts from zero: the parent's crashes are not counted twice."""

from __future__ import annotations

import threadcrash
from tests.helpers import run_thread
from tests.otel import Otel
from threadcrash import _fork


def crash() -> None:
    raise ValueError("x")


def test_forgetting_drops_only_the_inherited_crash_counts(otel: Otel) -> None:
    """What the child does after fork: our counter restarts, other instruments keep their state."""
    threadcrash.instrument(**otel.providers)
    other = otel.meter_provider.get_meter("app").create_counter("app.requests")
    other.add(5)
    run_thread(crash, "worker-1")
    assert otel.total() == 1
    for counter in list(_fork._counters):
        _fork.forget(counter)
    assert otel.total() == 0
    assert otel.total("app.requests") == 5
    run_thread(crash, "worker-2")
    assert otel.total() == 1
