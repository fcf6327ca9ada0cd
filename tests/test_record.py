"""The crash record: one pure function from an exception and thread facts to plain data."""

from __future__ import annotations

import builtins
import sys
from types import TracebackType

import pytest

from threadcrash import CrashRecord, _format
from threadcrash._record import Limits, ParentSpan, ThreadFacts, build_record, thread_role

LIMITS = Limits(message=4096, stacktrace=32768)
WORKER = ThreadFacts("worker-1", 1234, 5678)


class OrderError(Exception):
    """A user-defined exception type."""


def _fail_with(exc: BaseException) -> None:
    raise exc


def caught(exc: BaseException) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    """Raise ``exc`` through a real frame and return what a hook would receive."""
    try:
        _fail_with(exc)
    except BaseException as error:
        return type(error), error, error.__traceback__
    raise AssertionError("unreachable")


def record_of(exc: BaseException, extra: dict[str, str] | None = None) -> CrashRecord:
    exc_type, value, tb = caught(exc)
    return build_record(
        exc_type, value, tb, source="thread", thread=WORKER, limits=LIMITS, extra=extra
    )


def test_a_plain_crash_becomes_exactly_this_record() -> None:
    """Every field of the record is derived from the exception, its frames and the thread."""
    exc_type, value, tb = caught(ValueError("bad input"))
    record = build_record(
        exc_type,
        value,
        tb,
        source="thread",
        thread=WORKER,
        limits=LIMITS,
        timestamp_ns=42,
        parent=ParentSpan(1, 2, 1),
    )
    line = _fail_with.__code__.co_firstlineno + 1
    assert record == CrashRecord(
        source="thread",
        exception_type="ValueError",
        exception_message="bad input",
        exception_stacktrace=record.exception_stacktrace,
        fingerprint=record.fingerprint,
        thread_name="worker-1",
        thread_id=1234,
        thread_native_id=5678,
        code_function="_fail_with",
        code_file=__file__,
        code_line=line,
        fatal=False,
        timestamp_ns=42,
        parent=ParentSpan(1, 2, 1),
        extra={},
    )
    assert record.exception_stacktrace == (
        "Traceback (most recent call last):\n"
        f'  File "{__file__}", line {caught.__code__.co_firstlineno + 3}, in caught\n'
        "    _fail_with(exc)\n"
        f'  File "{__file__}", line {line}, in _fail_with\n'
        "    raise exc\n"
        "ValueError: bad input\n"
    )
    assert len(record.fingerprint) == 16
    int(record.fingerprint, 16)


def test_attributes_use_the_contract_names() -> None:
    """The attribute dict is the same for every signal and uses the semantic-convention names."""
    record = record_of(OrderError("declined"))
    attributes = record.attributes()
    assert attributes["exception.type"] == f"{__name__}.OrderError"
    assert attributes["exception.message"] == "declined"
    assert attributes["thread.name"] == "worker-1"
    assert attributes["thread.id"] == 1234
    assert attributes["threadcrash.thread.native_id"] == 5678
    assert attributes["threadcrash.source"] == "thread"
    assert attributes["code.function.name"] == "_fail_with"
    assert set(attributes) == {
        "exception.type",
        "exception.message",
        "exception.stacktrace",
        "threadcrash.source",
        "threadcrash.fingerprint",
        "thread.name",
        "thread.id",
        "threadcrash.thread.native_id",
        "code.function.name",
        "code.file.path",
        "code.line.number",
    }


def test_every_attribute_value_is_plain_data() -> None:
    """Only str, int, float and bool leave the record, so nothing can pin the exception."""
    record = record_of(OrderError("declined"), extra={"threadcrash.unraisable.message": "x"})
    for value in record.attributes().values():
        assert type(value) in (str, int, float, bool)


def test_an_unknown_thread_name_is_left_out() -> None:
    """With no name known, ``thread.name`` is absent rather than invented."""
    exc_type, value, tb = caught(ValueError("x"))
    record = build_record(
        exc_type, value, tb, source="thread", thread=ThreadFacts(None, 7, 8), limits=LIMITS
    )
    assert "thread.name" not in record.attributes()
    assert record.attributes()["thread.id"] == 7


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("Thread-12 (worker)", "Thread-N (worker)"),
        ("ThreadPoolExecutor-0_3", "ThreadPoolExecutor-N_N"),
        ("MainThread", "MainThread"),
        (None, None),
    ],
)
def test_thread_role_strips_digits(name: str | None, role: str | None) -> None:
    """Thread roles for metrics keep the shape of a name but not its numbers."""
    assert thread_role(name) == role


def _one(job: int) -> None:
    raise KeyError(f"job {job}")


def _other(job: int) -> None:
    raise KeyError(f"job {job}")


def _record_from(function: object, job: int) -> CrashRecord:
    try:
        function(job)  # type: ignore[operator]
    except KeyError as error:
        return build_record(
            KeyError, error, error.__traceback__, source="thread", thread=WORKER, limits=LIMITS
        )
    raise AssertionError("unreachable")


def test_fingerprint_ignores_messages_but_not_functions() -> None:
    """Crashes of one kind group together; another function or type is another group."""
    assert _record_from(_one, 1).fingerprint == _record_from(_one, 2).fingerprint
    assert _record_from(_one, 1).fingerprint != _record_from(_other, 1).fingerprint
    assert record_of(ValueError("a")).fingerprint != record_of(TypeError("a")).fingerprint


def test_message_is_bounded() -> None:
    """A 5 MB message is cut to the limit, saying how much was left out."""
    record = build_record(
        *caught(ValueError("x" * 5_000_000)),
        source="thread",
        thread=WORKER,
        limits=Limits(message=100, stacktrace=1000),
    )
    assert len(record.exception_message) == 100
    assert record.exception_message.endswith("more characters]")
    assert len(record.exception_stacktrace) <= 1000


class Unprintable(Exception):
    """An exception whose ``__str__`` raises."""

    def __str__(self) -> str:
        raise RuntimeError("no")


def test_a_raising_str_gives_cpythons_placeholder() -> None:
    """``str(exc)`` that raises is reported as CPython prints it, not as our error."""
    record = record_of(Unprintable())
    assert record.exception_message == "<exception str() failed>"
    assert record.exception_stacktrace.endswith("Unprintable: <exception str() failed>\n")


def test_lone_surrogates_and_nul_bytes_become_valid_utf8() -> None:
    """Text that protobuf would refuse is escaped; NUL bytes are kept as they are."""
    record = record_of(ValueError("bad \udc80 and \x00 nul"))
    assert record.exception_message == "bad \\udc80 and \x00 nul"
    record.exception_stacktrace.encode("utf-8")


def test_a_cycle_of_causes_is_printed_once() -> None:
    """``a.__cause__ is b`` and ``b.__cause__ is a``: each is formatted once, and it ends."""
    first, second = ValueError("first"), KeyError("second")
    first.__cause__ = second
    second.__cause__ = first
    record = record_of(first)
    assert record.exception_stacktrace.count("ValueError: first") == 1
    assert record.exception_stacktrace.count("KeyError: 'second'") == 1


def test_chained_exceptions_are_printed_as_python_does() -> None:
    """Context and cause separators appear as in CPython's own traceback."""
    try:
        try:
            {"present": 1}["missing"]
        except KeyError as inner:
            raise ValueError("outer") from inner
    except ValueError as error:
        record = build_record(
            ValueError, error, error.__traceback__, source="thread", thread=WORKER, limits=LIMITS
        )
    text = record.exception_stacktrace
    assert "KeyError: 'missing'\n\nThe above exception was the direct cause" in text
    assert text.endswith("ValueError: outer\n")


def _recurse(depth: int) -> int:
    return _recurse(depth + 1) + 1


def _recursion_record(limits: Limits, notes: list[str] | None = None) -> CrashRecord:
    """The record of a real RecursionError raised about 1000 frames deep."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        try:
            _recurse(0)
        except RecursionError as error:
            if notes is not None:
                error.__notes__ = notes  # type: ignore[attr-defined]
            return build_record(
                RecursionError,
                error,
                error.__traceback__,
                source="thread",
                thread=WORKER,
                limits=limits,
            )
    finally:
        sys.setrecursionlimit(limit)
    raise AssertionError("unreachable")


def test_deep_recursion_is_collapsed_and_bounded() -> None:
    """A 1000-frame RecursionError keeps the innermost frames and collapses repeats."""
    record = _recursion_record(Limits(4096, 4096))
    assert "more times]" in record.exception_stacktrace
    assert len(record.exception_stacktrace) <= 4096
    assert record.exception_stacktrace.endswith("maximum recursion depth exceeded\n")
    assert record.code_function == "_recurse"


def test_a_long_stack_keeps_its_innermost_frames() -> None:
    """When the stack text is over its limit, the outer frames are the ones dropped."""
    text = _recursion_record(Limits(4096, 512), notes=["n" * 300]).exception_stacktrace
    assert len(text) <= 512
    assert text.startswith("Traceback (most recent call last):\n  ... [")
    assert "n" * 300 in text


@pytest.mark.parametrize("limit", [300, 301, 333, 450, 1000])
def test_a_cut_stack_trace_starts_at_a_whole_line(limit: int) -> None:
    """After the "outer frames omitted" line, every line is a whole line of the original."""
    lines = [f'  File "/app/module_{index}.py", line {index}, in f{index}\n' for index in range(60)]
    text = "Traceback (most recent call last):\n" + "".join(lines) + "ValueError: end\n"
    cut = _format.bound_tail(text, limit)
    assert len(cut) <= limit
    header, marker, *kept = cut.splitlines(keepends=True)
    assert header == "Traceback (most recent call last):\n"
    assert marker.startswith("  ... [")
    assert marker.endswith(" characters of outer frames omitted]\n")
    assert kept[-1] == "ValueError: end\n"
    assert all(line in lines for line in kept[:-1])
    assert kept[:-1] == lines[len(lines) - len(kept) + 1 :]


def test_no_traceback_and_no_value_still_give_a_record() -> None:
    """A hook may receive ``exc_value=None`` or no traceback; the record is still whole."""
    record = build_record(ValueError, None, None, source="thread", thread=WORKER, limits=LIMITS)
    assert record.exception_type == "ValueError"
    assert record.exception_message == ""
    assert record.exception_stacktrace == "ValueError\n"
    assert record.code_function is None
    assert "code.function.name" not in record.attributes()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is new in 3.11")
def test_nested_exception_groups_are_bounded() -> None:
    """Nested groups with many members are rendered in CPython's group format, within limits."""
    group = vars(builtins)["ExceptionGroup"]
    inner = group("inner", [ValueError(str(i)) for i in range(100)])
    outer = group("outer", [inner, KeyError("k")])
    record = build_record(*caught(outer), source="thread", thread=WORKER, limits=Limits(4096, 2048))
    assert record.exception_type == "ExceptionGroup"
    assert record.exception_message == "outer (2 sub-exceptions)"
    assert len(record.exception_stacktrace) <= 2048
    assert "| and 85 more exceptions" in record.exception_stacktrace
    assert "| KeyError: 'k'" in record.exception_stacktrace
