"""Chained exceptions in a stack trace, odd messages, and the cut of a long stack trace."""

from __future__ import annotations

import re
from typing import Any

from threadcrash import _format
from threadcrash._record import Limits, ThreadFacts, build_record

LIMITS = Limits(message=4096, stacktrace=1_000_000)
THREAD = ThreadFacts("worker", 1, 2)
DURING = "During handling of the above exception, another exception occurred:"


def stacktrace_of(exc: BaseException) -> str:
    record = build_record(
        type(exc), exc, exc.__traceback__, source="thread", thread=THREAD, limits=LIMITS
    )
    return record.exception_stacktrace


def load_config() -> None:
    raise KeyError("region")


def start_service() -> None:
    try:
        load_config()
    except KeyError:
        raise RuntimeError("cannot start") from None


def start_service_noisily() -> None:
    try:
        load_config()
    except KeyError:
        raise RuntimeError("cannot start")  # noqa: B904 (the implicit context is the point)


def caught(function: Any) -> BaseException:
    try:
        function()
    except BaseException as error:
        return error
    raise AssertionError("no exception")


def test_an_exception_raised_while_handling_another_shows_both_with_their_frames() -> None:
    """The first exception, with its own frames, then "During handling...", then the second."""
    text = stacktrace_of(caught(start_service_noisily))
    first, second = text.split(DURING)
    assert "in load_config\n" in first
    assert first.rstrip().endswith("KeyError: 'region'")
    assert "in load_config\n" not in second
    assert second.rstrip().endswith("RuntimeError: cannot start")


def test_raise_from_none_hides_the_context() -> None:
    """``raise ... from None``: only the new exception is shown, as CPython shows it."""
    text = stacktrace_of(caught(start_service))
    assert "KeyError" not in text
    assert DURING not in text
    assert text.endswith("RuntimeError: cannot start\n")


def test_a_chain_longer_than_32_exceptions_is_cut_to_the_newest_32() -> None:
    """A chain of 40 exceptions shows the 32 newest, and the report is still made."""
    error: BaseException = ValueError("error 0")
    for index in range(1, 40):
        newer = ValueError(f"error {index}")
        newer.__cause__ = error
        error = newer
    text = stacktrace_of(error)
    assert len(re.findall(r"^ValueError: error \d+$", text, re.MULTILINE)) == 32
    assert "ValueError: error 8\n" in text
    assert "ValueError: error 7\n" not in text


def test_a_cycle_of_causes_is_shown_once() -> None:
    """Two exceptions that are each other's cause are each shown once; nothing loops."""
    first, second = ValueError("first"), ValueError("second")
    first.__cause__, second.__cause__ = second, first
    text = stacktrace_of(first)
    assert text.count("ValueError: first\n") == 1
    assert text.count("ValueError: second\n") == 1


class OddCause(Exception):
    """An exception whose chain attributes are properties returning anything."""

    @property
    def __cause__(self) -> Any:  # type: ignore[override]
        return "not an exception"

    @property
    def __context__(self) -> Any:  # type: ignore[override]
        return "not an exception either"


class RaisingCause(Exception):
    @property
    def __cause__(self) -> Any:  # type: ignore[override]
        raise RuntimeError("chain unreadable")


def test_chain_attributes_that_are_not_exceptions_end_the_chain() -> None:
    """A cause or context that is not an exception, or cannot be read, ends the chain there."""
    assert stacktrace_of(OddCause("odd")) == f"{__name__}.OddCause: odd\n"
    assert stacktrace_of(RaisingCause("unreadable")) == f"{__name__}.RaisingCause: unreadable\n"


class Shouting(str):
    """A str subclass, as a __str__ may return."""


class Loud(Exception):
    def __str__(self) -> str:
        return Shouting("turned up")


def test_a_message_that_is_a_str_subclass_is_kept_as_plain_text() -> None:
    """A __str__ returning a str subclass gives its text, as plain str."""
    text = _format.safe_str(Loud())
    assert text == "turned up"
    assert type(text) is str


def test_a_cut_stack_trace_counts_exactly_what_it_left_out() -> None:
    """The omitted count plus what is kept is the whole stack trace; a fit is left whole."""
    header = "Traceback (most recent call last):\n"
    text = header + "".join(
        f'  File "/app/m{index}.py", line {index}, in f\n' for index in range(99)
    )
    assert _format.truncate_head(text, len(text)) == text
    cut = _format.truncate_head(text, 1000)
    assert len(cut) <= 1000
    match = re.match(
        r"^Traceback \(most recent call last\):\n  \.\.\. \[(\d+) characters of "
        r"outer frames omitted\]\n",
        cut,
    )
    assert match is not None
    kept = cut[match.end() :]
    assert text.endswith(kept)
    assert int(match.group(1)) + len(kept) + len(header) == len(text)
