"""The reporter's one-way path: screen, gate, build the record, filter, emit."""

from __future__ import annotations

import sys
from types import TracebackType

import pytest

import threadcrash
from tests.helpers import run_thread
from tests.otel import Otel
from threadcrash import _format, _lifecycle
from threadcrash._record import Limits, ThreadFacts, build_record

WORKER = ThreadFacts("worker", 1, 2)


def _deep(depth: int) -> None:
    if depth:
        _deep(depth - 1)
    raise ValueError("deep")


def _caught() -> tuple[type[BaseException], BaseException, TracebackType | None]:
    try:
        _deep(5)
    except ValueError:
        exc_type, exc_value, exc_tb = sys.exc_info()
        assert exc_type is not None
        assert exc_value is not None
        return exc_type, exc_value, exc_tb
    raise AssertionError("unreachable")


def test_a_record_from_frames_already_walked_is_the_same_record() -> None:
    """Handing build_record the frames the gate already walked changes nothing in the record."""
    exc_type, exc_value, exc_tb = _caught()
    limits = Limits(4096, 32768)
    walked = build_record(
        exc_type,
        exc_value,
        exc_tb,
        source="thread",
        thread=WORKER,
        limits=limits,
        stack=_format.frames(exc_tb),
    )
    assert walked == build_record(
        exc_type, exc_value, exc_tb, source="thread", thread=WORKER, limits=limits
    )


@pytest.mark.parametrize("rate_limit", [0.0, 10.0])
def test_a_crash_has_its_frames_walked_once(
    rate_limit: float, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storm control on or off, one thread crash walks its traceback once, not twice."""
    walks: list[int] = []
    walk = _format.frames

    def counting(tb: TracebackType | None) -> list[_format.Frame]:
        walks.append(1)
        return walk(tb)

    monkeypatch.setattr(_format, "frames", counting)
    threadcrash.instrument(chain=False, rate_limit=rate_limit, **otel.providers)
    run_thread(lambda: _deep(3))
    assert len(walks) == 1
    assert otel.total() == 1
    assert len(otel.spans()) == 1


def test_the_reporter_holds_each_stage_by_name(otel: Otel) -> None:
    """The storm gate is the reporter's own from the start: the emitter is not built for it."""
    threadcrash.instrument(chain=False, rate_limit=5.0, **otel.providers)
    installation = _lifecycle.current()
    assert installation is not None
    reporter = installation.reporter
    assert reporter.gate is not None
    assert reporter.emitter is installation.sink
    assert not installation.sink.built


def test_a_crash_dropped_by_before_emit_is_counted_and_nothing_else(otel: Otel) -> None:
    """A report the user's filter drops still counts, once, and writes no span or log record."""
    threadcrash.instrument(chain=False, before_emit=lambda record: None, **otel.providers)
    run_thread(lambda: _deep(1))
    assert otel.total() == 1
    assert otel.total("threadcrash.suppressed") == 1
    assert otel.spans() == []
    assert otel.logs() == []
