"""Storm control: logs, spans and structlog events are rate-limited per fingerprint; counts not."""

from __future__ import annotations

import io
import json
import os
import threading
import time
import warnings
from typing import Any

import pytest
import structlog

import threadcrash
from tests.conftest import InternalErrors
from tests.helpers import run_python, run_thread
from tests.otel import Otel
from threadcrash import _lifecycle
from threadcrash._gate import EVICTED, VARIOUS, Gate, Summary


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def crash() -> None:
    raise ValueError("storm")


def other_crash() -> None:
    raise ValueError("another kind of storm")


def crash_in_threads(target: Any, count: int) -> None:
    """``count`` real threads crash at once (bounded wait)."""
    barrier = threading.Barrier(count, timeout=20)

    def run() -> None:
        barrier.wait()
        target()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)


def suppressed_counts(otel: Otel) -> dict[frozenset[Any], int]:
    return otel.counts("threadcrash.suppressed")


def summaries(otel: Otel) -> list[Any]:
    return [log for log in otel.logs() if log.event_name == "threadcrash.suppressed"]


def crash_logs(otel: Otel) -> list[Any]:
    return [log for log in otel.logs() if log.event_name == "exception"]


# --- the bucket, with a hand-driven clock ---------------------------------------------------


def test_the_burst_passes_then_the_rest_is_held_back() -> None:
    """With no time passing, exactly ``burst`` crashes of one fingerprint are let through."""
    gate = Gate(rate=1.0, burst=3, summary_interval=60, clock=Clock())
    decisions = [gate.admit("f", "ValueError", "thread")[0] for _ in range(10)]
    assert decisions == [True] * 3 + [False] * 7


def test_tokens_come_back_at_the_rate() -> None:
    """After the burst, one crash per ``1/rate`` seconds is let through again."""
    clock = Clock()
    gate = Gate(rate=2.0, burst=1, summary_interval=60, clock=clock)
    assert gate.admit("f", "E", "thread")[0]
    assert not gate.admit("f", "E", "thread")[0]
    clock.now += 0.49
    assert not gate.admit("f", "E", "thread")[0]
    clock.now += 0.02
    assert gate.admit("f", "E", "thread")[0]


def test_the_next_allowed_crash_brings_the_summary() -> None:
    """What was held back is told, once, with the next crash of that fingerprint let through."""
    clock = Clock()
    gate = Gate(rate=0.1, burst=1, summary_interval=600, clock=clock)
    gate.admit("f", "KeyError", "thread")
    for _ in range(4):
        clock.now += 1
        assert gate.admit("f", "KeyError", "thread") == (False, ())
    clock.now += 10
    assert gate.admit("f", "KeyError", "thread") == (
        True,
        (Summary("f", "KeyError", "thread", 4, 13.0),),
    )
    assert gate.admit("f", "KeyError", "thread") == (False, ())


def test_a_summary_is_due_after_the_interval_even_if_nothing_is_let_through() -> None:
    """A very low rate still gives a summary every ``summary_interval`` of continued crashes."""
    clock = Clock()
    gate = Gate(rate=0.0001, burst=1, summary_interval=30, clock=clock)
    gate.admit("f", "E", "thread")
    gate.admit("f", "E", "thread")  # held back from now on
    clock.now += 29
    assert gate.admit("f", "E", "thread") == (False, ())
    clock.now += 1
    allowed, due = gate.admit("f", "E", "thread")
    assert not allowed
    assert due == (Summary("f", "E", "thread", 3, 30.0),)
    assert gate.drain() == []


def test_a_long_quiet_spell_saves_up_no_more_than_the_burst() -> None:
    """After an hour with no crashes, a new storm of one kind gets the burst, no more."""
    clock = Clock()
    gate = Gate(rate=1.0, burst=3, summary_interval=60, clock=clock)
    assert [gate.admit("f", "E", "thread")[0] for _ in range(4)] == [True] * 3 + [False]
    clock.now += 3600
    assert sum(gate.admit("f", "E", "thread")[0] for _ in range(10)) == 3


def test_a_kind_evicted_from_a_full_table_is_summed_up_on_its_own_schedule() -> None:
    """When only the evicted kinds' summary is due, it comes alone; the live kind waits its turn."""
    clock = Clock()
    gate = Gate(rate=0.0001, burst=1, summary_interval=30, capacity=2, clock=clock)
    assert all(gate.admit(f"k{index}", "E", "thread")[0] for index in range(10))
    assert gate.admit("a", "E", "thread") == (False, ())  # the overall bucket is empty now
    clock.now += 1
    assert gate.admit("b", "E", "thread") == (False, ())
    clock.now += 1
    assert gate.admit("c", "E", "thread") == (False, ())  # evicts "a", which held one back
    assert len(gate) == 2
    clock.now += 28
    assert gate.admit("c", "E", "thread") == (False, (Summary(EVICTED, VARIOUS, VARIOUS, 1, 30.0),))


def test_a_table_of_one_holds_one_kind() -> None:
    """The smallest table still works: each new kind replaces the last."""
    gate = Gate(rate=1.0, burst=1, summary_interval=60, capacity=1, clock=Clock())
    assert gate.admit("a", "E", "thread")[0]
    assert gate.admit("b", "E", "thread")[0]
    assert len(gate) == 1


def test_a_live_kind_is_summed_up_on_its_own_schedule() -> None:
    """When only a live kind's summary is due, it comes alone; the evicted kinds wait their turn."""
    clock = Clock()
    gate = Gate(rate=0.0001, burst=1, summary_interval=30, capacity=2, clock=clock)
    assert all(gate.admit(f"k{index}", "E", "thread")[0] for index in range(10))
    gate.admit("a", "E", "thread")  # the overall bucket is empty: "a" holds back from 1000 on
    clock.now += 10
    gate.admit("b", "E", "thread")  # "b" holds back from 1010 on
    clock.now += 1
    gate.admit("a", "E", "thread")  # "a" is now the most recently seen
    clock.now += 1
    assert gate.admit("c", "E", "thread") == (False, ())  # evicts "b"
    clock.now += 18
    assert gate.admit("a", "E", "thread") == (False, (Summary("a", "E", "thread", 3, 30.0),))


def test_the_summary_text_reads_as_a_sentence() -> None:
    """The summary's body says how many and over how long."""
    assert Summary("f", "E", "thread", 45, 12.4).text() == (
        "45 crashes like this suppressed in the last 12 s"
    )
    assert Summary("f", "E", "thread", 1, 0.2).text() == (
        "1 crash like this suppressed in the last 0 s"
    )


def test_fingerprints_are_bounded_and_the_least_recently_seen_goes_first() -> None:
    """The table never outgrows its capacity; what an evicted kind held back is still told."""
    clock = Clock()
    gate = Gate(rate=1.0, burst=1, summary_interval=60, capacity=3, clock=clock)
    gate.admit("a", "E", "thread")
    gate.admit("a", "E", "thread")  # one of "a" held back
    gate.admit("b", "E", "thread")
    gate.admit("c", "E", "thread")
    gate.admit("a", "E", "thread")  # "a" seen again (two held back): "b" is now the oldest
    assert list(gate._buckets) == ["b", "c", "a"]
    assert gate.admit("d", "E", "thread") == (True, ())  # "b" evicted, nothing pending
    assert list(gate._buckets) == ["c", "a", "d"]
    clock.now += 0.5
    assert gate.admit("e", "E", "thread") == (True, ())  # "c" evicted
    clock.now += 0.5
    assert gate.admit("f", "E", "thread") == (  # "a" evicted with 2 held back, told at once
        True,
        (Summary(EVICTED, VARIOUS, VARIOUS, 2, 1.0),),
    )
    assert len(gate) == 3


def test_the_overall_bucket_caps_many_kinds_at_once() -> None:
    """A bug that churns through kinds is limited too: ten times the burst, overall."""
    gate = Gate(rate=1.0, burst=2, summary_interval=60, capacity=5, clock=Clock())
    allowed = [gate.admit(f"kind-{index}", "E", "thread")[0] for index in range(100)]
    assert sum(allowed) == 20
    assert allowed[:20] == [True] * 20
    *kept, summary = gate.drain()
    assert [(item.fingerprint, item.suppressed) for item in kept] == [
        (f"kind-{index}", 1) for index in range(95, 100)
    ]
    assert summary.fingerprint == EVICTED
    assert summary.suppressed == 75  # 80 held back, 5 of them by kinds still in the table
    assert summary.text().startswith("75 crashes of kinds seen too rarely to track suppressed")


def test_the_overall_bucket_refills_at_ten_times_the_rate() -> None:
    """After 100 reports at one per second, every second brings ten more reports of new kinds."""
    clock = Clock()
    gate = Gate(rate=1.0, burst=10, summary_interval=60, capacity=5000, clock=clock)
    assert sum(gate.admit(f"kind-{index}", "E", "thread")[0] for index in range(200)) == 100
    for second in range(1, 4):
        clock.now += 1.0
        kinds = (f"kind-{second}-{index}" for index in range(30))
        assert sum(gate.admit(kind, "E", "thread")[0] for kind in kinds) == 10


def test_the_gate_holds_only_strings_and_numbers() -> None:
    """Nothing but str, int and float lives in the suppression state."""
    gate = Gate(rate=1.0, burst=1, summary_interval=60)
    for index in range(50):
        gate.admit(f"f{index % 7}", "ValueError", "thread")
    for fingerprint, bucket in gate._buckets.items():
        assert type(fingerprint) is str
        for name in bucket.__slots__:
            assert type(getattr(bucket, name)) in (str, int, float)


def test_concurrent_admissions_let_exactly_the_burst_through() -> None:
    """Eight threads racing on one fingerprint: the bucket is never overdrawn."""
    gate = Gate(rate=0.0001, burst=25, summary_interval=3600)
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8, timeout=10)

    def admit_many() -> None:
        start.wait()
        for _ in range(100):
            ok = gate.admit("f", "E", "thread")[0]
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=admit_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(allowed) == 800
    assert sum(allowed) == 25


# --- the gate in front of the signals, with real threads ------------------------------------


def test_a_storm_is_counted_exactly_and_reported_within_the_burst(
    otel: Otel, captured_structlog: list[dict[str, Any]]
) -> None:
    """60 crashes of one kind: the counter says 60; 5 spans, logs, structlog events; 55 held."""
    threadcrash.instrument(burst=5, rate_limit=0.001, chain=False, **otel.providers)
    crash_in_threads(crash, 60)
    assert otel.total() == 60
    assert len(otel.spans()) == 5
    assert len(crash_logs(otel)) == 5
    assert len(captured_structlog) == 5
    assert suppressed_counts(otel) == {
        frozenset(
            {
                ("error.type", "ValueError"),
                ("threadcrash.source", "thread"),
                ("threadcrash.reason", "rate_limit"),
            }
        ): 55
    }


def test_each_fingerprint_has_its_own_budget(otel: Otel) -> None:
    """A storm of one kind of crash does not silence another kind."""
    threadcrash.instrument(burst=2, rate_limit=0.001, chain=False, **otel.providers)
    crash_in_threads(crash, 20)
    crash_in_threads(other_crash, 3)
    assert otel.total() == 23
    functions = sorted(str((span.attributes or {})["code.function.name"]) for span in otel.spans())
    assert functions == ["crash", "crash", "other_crash", "other_crash"]
    assert otel.total("threadcrash.suppressed") == 19


def test_uninstrument_tells_what_was_held_back(
    otel: Otel, captured_structlog: list[dict[str, Any]]
) -> None:
    """The last word: a summary event per fingerprint with crashes still untold."""
    threadcrash.instrument(burst=1, rate_limit=0.001, chain=False, **otel.providers)
    crash_in_threads(crash, 8)
    [span] = otel.spans()
    assert summaries(otel) == []
    threadcrash.uninstrument()
    [summary] = summaries(otel)
    assert summary.body.startswith("7 crashes like this suppressed in the last ")
    assert summary.attributes["threadcrash.suppressed.count"] == 7
    assert summary.attributes["exception.type"] == "ValueError"
    assert summary.attributes["threadcrash.source"] == "thread"
    assert span.attributes is not None
    fingerprint = span.attributes["threadcrash.fingerprint"]
    assert summary.attributes["threadcrash.fingerprint"] == fingerprint
    assert summary.severity_text == "WARN"
    [event] = [event for event in captured_structlog if event["event"] == "crashes suppressed"]
    assert event["_level"] == "warning"
    assert event["threadcrash.suppressed.count"] == 7
    assert event["summary"] == summary.body


def test_the_summary_rides_on_the_next_report_let_through(otel: Otel) -> None:
    """Once tokens come back, the next crash of the kind brings the summary along."""
    threadcrash.instrument(burst=1, rate_limit=1.0, chain=False, **otel.providers)
    installation = _lifecycle.current()
    assert installation is not None
    gate = installation.reporter.gate
    assert gate is not None
    clock = Clock()
    gate._clock = clock
    for _ in range(4):
        run_thread(crash)
    assert summaries(otel) == []
    clock.now += 2
    run_thread(crash)
    [summary] = summaries(otel)
    assert summary.attributes["threadcrash.suppressed.count"] == 3
    assert len(otel.spans()) == 2
    assert otel.total() == 5


def test_rate_limit_zero_turns_storm_control_off(otel: Otel) -> None:
    """``rate_limit=0``: every crash is reported on every signal."""
    threadcrash.instrument(rate_limit=0, chain=False, **otel.providers)
    crash_in_threads(crash, 40)
    assert otel.total() == 40
    assert len(otel.spans()) == 40
    assert len(crash_logs(otel)) == 40
    assert otel.total("threadcrash.suppressed") == 0


def test_storm_settings_come_from_the_environment(
    otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``THREADCRASH_RATE_LIMIT`` and ``THREADCRASH_BURST`` configure the bucket."""
    monkeypatch.setenv("THREADCRASH_BURST", "3")
    monkeypatch.setenv("THREADCRASH_RATE_LIMIT", "0.001")
    threadcrash.instrument(chain=False, **otel.providers)
    crash_in_threads(crash, 10)
    assert len(otel.spans()) == 3
    assert otel.total() == 10


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("THREADCRASH_RATE_LIMIT", "fast"),
        ("THREADCRASH_RATE_LIMIT", "-1"),
        ("THREADCRASH_BURST", "0"),
        ("THREADCRASH_SUMMARY_INTERVAL", "soon"),
    ],
)
def test_a_bad_storm_setting_warns_once_and_keeps_the_default(
    otel: Otel, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """One warning naming variable and value; storm control keeps its defaults (burst 10)."""
    monkeypatch.setenv(variable, value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threadcrash.instrument(chain=False, **otel.providers)
        threadcrash.uninstrument()
        threadcrash.instrument(chain=False, **otel.providers)
    messages = [str(item.message) for item in caught]
    assert len(messages) == 1
    assert variable in messages[0]
    assert repr(value) in messages[0]
    crash_in_threads(crash, 12)
    assert len(otel.spans()) == 10
    assert otel.total() == 12


def test_a_misconfigured_structlog_costs_only_its_own_events(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """Structlog writing to a closed file during a storm: exact counts, spans, logs, chaining."""
    closed = io.StringIO()
    closed.close()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(closed),
    )
    chained: list[str] = []
    threading.excepthook = lambda args: chained.append(args.exc_type.__name__)
    threadcrash.instrument(burst=5, rate_limit=0.001, **otel.providers)
    crash_in_threads(crash, 30)
    assert chained == ["ValueError"] * 30
    assert otel.total() == 30
    assert len(otel.spans()) == 5
    assert len(crash_logs(otel)) == 5
    # one internal error per structlog event attempted: storm control bounds those too
    assert [where for where, _ in internal_errors.seen] == ["structlog"] * 5


def test_a_held_back_crash_is_not_formatted(otel: Otel) -> None:
    """Past the burst, no ``str()`` of the exception: a storm costs the frames' walk, not text."""
    calls: list[int] = []

    class Costly(Exception):
        def __str__(self) -> str:
            calls.append(1)
            return "costly"

    def crash_costly() -> None:
        raise Costly

    chained: list[str] = []
    threading.excepthook = lambda args: chained.append(args.exc_type.__name__)
    threadcrash.instrument(burst=3, rate_limit=0.001, **otel.providers)
    crash_in_threads(crash_costly, 20)
    assert len(calls) == 3
    assert len(otel.spans()) == 3
    assert otel.total() == 20
    assert otel.total("threadcrash.suppressed") == 17
    assert chained == ["Costly"] * 20


def test_error_types_in_the_counters_are_capped(otel: Otel) -> None:
    """Past 200 distinct exception types, the counters say ``other``: no unbounded series."""
    from threadcrash._emit import MAX_ERROR_TYPES

    threadcrash.instrument(chain=False, **otel.providers)
    kinds = [type(f"Generated{index}", (Exception,), {}) for index in range(MAX_ERROR_TYPES + 30)]
    for kind in kinds:

        def crash_kind(kind: type[Exception] = kind) -> None:
            raise kind

        run_thread(crash_kind)
    by_type = {dict(key)["error.type"]: value for key, value in otel.counts().items()}
    assert len(by_type) == MAX_ERROR_TYPES + 1
    assert by_type["other"] == 30
    assert otel.total() == MAX_ERROR_TYPES + 30


EXIT_CHILD = """
import json, sys, threading
import structlog
import threadcrash

structlog.configure(processors=[structlog.processors.JSONRenderer()])
threadcrash.instrument(burst=2, rate_limit=0.001, chain=False)

def crash():
    raise ValueError("storm")

for _ in range(12):
    thread = threading.Thread(target=crash)
    thread.start()
    thread.join()
"""


@pytest.mark.slow
def test_what_was_held_back_is_told_at_exit() -> None:
    """A program that never calls ``uninstrument()`` still gets its summary at exit."""
    done = run_python(["-c", EXIT_CHILD])
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [event["event"] for event in events] == ["thread crashed"] * 2 + ["crashes suppressed"]
    assert events[-1]["threadcrash.suppressed.count"] == 10
    assert events[-1]["summary"].startswith("10 crashes like this suppressed in the last ")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.slow
def test_a_fork_while_the_gate_is_busy_leaves_the_child_working() -> None:
    """The child of a fork taken while another thread held the gate's lock can still report."""
    gate = Gate(rate=1.0, burst=10, summary_interval=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() in a threaded process
        with gate._lock:
            pid = os.fork()
            if pid == 0:  # the child: the lock's holder does not exist here
                ok = gate.admit("f", "E", "thread")[0]
                os._exit(0 if ok else 1)
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the child's first crash report hung on the gate's lock")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
