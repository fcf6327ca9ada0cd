"""Records at the edges: the screening record, the partial record, long names, groups."""

from __future__ import annotations

import builtins
import time
from typing import Any

import pytest

from threadcrash import _format
from threadcrash._record import (
    PARTIAL_ATTRIBUTE,
    Limits,
    ThreadFacts,
    build_record,
    minimal_record,
    screening_record,
    thread_role,
)

WORKER = ThreadFacts("worker-\udc80", 7, 70)
LIMITS = Limits(message=4096, stacktrace=16384)
GROUP: Any = vars(builtins).get("ExceptionGroup")  # new in 3.11


def test_a_long_thread_name_gives_a_role_of_128_characters() -> None:
    """A thread name of any length gives a bounded metric label: its first 128 characters."""
    assert thread_role("w" * 300) == "w" * 128


def test_the_screening_record_holds_type_fingerprint_and_thread_only() -> None:
    """Storm control's cheap record: no message, no stack trace, the thread as it is known."""
    record = screening_record(KeyError, [], source="thread", thread=WORKER)
    assert (record.exception_type, record.exception_message, record.exception_stacktrace) == (
        "KeyError",
        "",
        "",
    )
    assert record.fingerprint == _format.fingerprint("KeyError", [])
    assert (record.thread_name, record.thread_id, record.thread_native_id) == (
        "worker-\\udc80",
        7,
        70,
    )


def test_a_partial_record_keeps_what_is_still_known() -> None:
    """When the full record cannot be built: type, source, thread and now, marked partial."""
    before = time.time_ns()
    record = minimal_record(KeyError, source="unraisable", thread=WORKER)
    assert (record.exception_type, record.source, record.fatal) == ("KeyError", "unraisable", False)
    assert (record.exception_message, record.exception_stacktrace) == ("", "")
    assert record.fingerprint == _format.fingerprint("KeyError", [])
    assert (record.thread_name, record.thread_id, record.thread_native_id) == (
        "worker-\\udc80",
        7,
        70,
    )
    assert before <= record.timestamp_ns <= time.time_ns()
    assert record.attributes()[PARTIAL_ATTRIBUTE] is True
    unnamed = minimal_record(KeyError, source="fatal", thread=ThreadFacts(None, 1, 2), fatal=True)
    assert (unnamed.thread_name, unnamed.fatal) == (None, True)


def test_a_record_built_without_a_time_is_stamped_when_emitted() -> None:
    """build_record() without timestamp_ns leaves 0, which the emitters read as "now"."""
    record = build_record(
        KeyError, KeyError("k"), None, source="thread", thread=WORKER, limits=LIMITS
    )
    assert record.timestamp_ns == 0


def _fail_together() -> None:
    raise GROUP("two jobs failed", [ValueError("one"), KeyError("two")])


@pytest.mark.skipif(GROUP is None, reason="ExceptionGroup is new in 3.11")
def test_an_exception_groups_stack_trace_shows_where_it_was_raised() -> None:
    """A group's stack trace keeps the frame that raised it, not only its members."""
    try:
        _fail_together()
    except GROUP as group:
        record = build_record(
            GROUP,
            group,
            group.__traceback__,
            source="thread",
            thread=WORKER,
            limits=LIMITS,
        )
    assert "in _fail_together" in record.exception_stacktrace
    assert "ExceptionGroup: two jobs failed (2 sub-exceptions)" in record.exception_stacktrace
