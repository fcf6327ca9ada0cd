"""The process source's odd cases, run in this process.

What a child does when its setup fails, and process objects that are not quite what
multiprocessing makes.

A child process runs these same functions; here they are called directly, so each case can be
checked without a process that would have to fail in just that way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import threadcrash
from threadcrash._sources import _process
from threadcrash._sources._process import ProcessSource

from .conftest import InternalErrors
from .otel import Otel


def target_that_fails() -> None:
    raise RuntimeError("the child gave up")


def raised() -> RuntimeError:
    """An exception with the traceback a process's target leaves."""
    try:
        target_that_fails()
    except RuntimeError as exc:
        return exc
    raise AssertionError("target_that_fails() returned")


class Process:
    """Stands for the process object ``_bootstrap`` hands to the source: only what it reads."""

    def __init__(self, name: object = "worker-process", parent: object = None) -> None:
        self.name = name
        if parent is not None:
            setattr(self, _process.PARENT, parent)


class Nameless:
    """A process object without a ``name`` attribute."""


class NameRaises:
    """A process object whose ``name`` cannot be read."""

    @property
    def name(self) -> str:
        raise RuntimeError("name unavailable")


class Unwritable:
    """A process object that takes no attributes (the parent's wrapper sets two on it)."""

    def __setattr__(self, name: str, value: object) -> None:
        raise RuntimeError("read-only process")


@pytest.fixture
def source(otel: Otel) -> Iterator[ProcessSource]:
    """The installed process source, reporting to the test's providers."""
    threadcrash.instrument(sources="process", **otel.providers)
    installed = _process._source
    assert installed is not None
    yield installed
    threadcrash.uninstrument()


def test_a_process_crash_is_reported_with_its_name_and_traceback(
    source: ProcessSource, otel: Otel
) -> None:
    """The child's report names the process and carries the target's stack trace."""
    source.report(Process(), raised())
    (log,) = otel.logs()
    assert log.attributes[_process.NAME_ATTRIBUTE] == "worker-process"
    assert "target_that_fails" in log.attributes["exception.stacktrace"]
    assert "the child gave up" in log.attributes["exception.stacktrace"]


def test_a_process_without_a_name_is_still_reported(source: ProcessSource, otel: Otel) -> None:
    """A process object without ``name`` gives a report without the name attribute."""
    source.report(Nameless(), raised())
    (log,) = otel.logs()
    assert _process.NAME_ATTRIBUTE not in log.attributes
    assert log.attributes["exception.type"] == "RuntimeError"


def test_a_name_that_is_not_text_is_left_out(source: ProcessSource, otel: Otel) -> None:
    """Only a ``str`` name becomes the attribute; the crash is reported all the same."""
    source.report(Process(name=7), raised())
    (log,) = otel.logs()
    assert _process.NAME_ATTRIBUTE not in log.attributes


def test_a_parent_that_is_not_a_span_reference_is_ignored(
    source: ProcessSource, otel: Otel
) -> None:
    """Whatever else sits in the parent attribute, the crash starts a trace of its own."""
    source.report(Process(parent="not a span"), raised())
    (span,) = otel.spans()
    assert span.parent is None
    assert len(otel.logs()) == 1


def test_a_process_whose_name_cannot_be_read_is_an_internal_error(
    source: ProcessSource, otel: Otel, internal_errors: InternalErrors
) -> None:
    """A failure while reading the process is our internal error, named, never the child's."""
    source.report(NameRaises(), raised())
    assert otel.logs() == []
    ((where, text),) = internal_errors.seen
    assert where == "process"
    assert "RuntimeError: name unavailable" in text


def test_a_process_that_takes_no_attributes_still_starts(
    source: ProcessSource, internal_errors: InternalErrors
) -> None:
    """If the child's settings cannot be handed over, the process starts without them."""
    started: list[Any] = []
    start = _process._wrap_start(started.append)
    process = Unwritable()
    start(process)
    assert started == [process]
    ((where, text),) = internal_errors.seen
    assert where == "process start"
    assert "RuntimeError: read-only process" in text


def test_a_child_that_cannot_instrument_itself_records_why(
    internal_errors: InternalErrors,
) -> None:
    """Settings a child cannot take leave it uninstrumented, with an internal error saying why."""
    _process._instrument_child({"no_such_option": 1})
    ((where, text),) = internal_errors.seen
    assert where == "instrumenting a child process"
    assert "no_such_option" in text
