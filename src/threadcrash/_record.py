"""The crash record: plain data built once per crash by one pure function."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import NamedTuple

from . import _format
from ._format import Frame

AttributeValue = str | int | float | bool

SOURCES = ("thread", "main", "unraisable", "asyncio", "fatal", "future", "process")
OTHER = "other"  # a metric attribute's value past its cardinality cap, or when it is unknown


class ThreadFacts(NamedTuple):
    """What is known of the crashing thread, as plain values."""

    name: str | None
    ident: int | None
    native_id: int | None


class ParentSpan(NamedTuple):
    """The span that was current when the thread was started, as plain integers."""

    trace_id: int
    span_id: int
    trace_flags: int
    is_remote: bool = False


class Limits(NamedTuple):
    """Length bounds of the text fields, in characters."""

    message: int
    stacktrace: int


@dataclass(frozen=True)
class CrashRecord:
    """One crash as plain data: every signal is emitted from this and nothing else.

    It holds only strings, numbers and booleans, never the exception, traceback, frame or
    thread, so a ``before_emit`` callback, a processor or a queue cannot pin them.
    """

    source: str
    exception_type: str
    exception_message: str
    exception_stacktrace: str
    fingerprint: str
    thread_name: str | None
    thread_id: int | None
    thread_native_id: int | None
    code_function: str | None = None
    code_file: str | None = None
    code_line: int | None = None
    fatal: bool = False
    timestamp_ns: int = 0
    parent: ParentSpan | None = None
    extra: Mapping[str, AttributeValue] = field(default_factory=dict)

    @property
    def thread_role(self) -> str | None:
        """The thread's name with digits normalised: low-cardinality, for metrics."""
        return thread_role(self.thread_name)

    def attributes(self) -> dict[str, AttributeValue]:
        """The contract's attribute names and values, identical in every signal."""
        attrs: dict[str, AttributeValue] = {
            "exception.type": self.exception_type,
            "exception.message": self.exception_message,
            "exception.stacktrace": self.exception_stacktrace,
            "threadcrash.source": self.source,
            "threadcrash.fingerprint": self.fingerprint,
        }
        if self.thread_name is not None:
            attrs["thread.name"] = self.thread_name
        if self.thread_id is not None:
            attrs["thread.id"] = self.thread_id
        if self.thread_native_id is not None:
            attrs["threadcrash.thread.native_id"] = self.thread_native_id
        if self.code_function is not None:
            attrs["code.function.name"] = self.code_function
        if self.code_file is not None:
            attrs["code.file.path"] = self.code_file
        if self.code_line is not None:
            attrs["code.line.number"] = self.code_line
        attrs.update(self.extra)
        return attrs


_DIGITS = re.compile(r"\d+")


def thread_role(name: str | None) -> str | None:
    """``Thread-12 (worker)`` -> ``Thread-N (worker)``; ``ThreadPoolExecutor-0_3`` -> ``..-N_N``."""
    if name is None:
        return None
    return _DIGITS.sub("N", name[:128])


def screening_record(
    exc_type: type[BaseException],
    stack: list[Frame],
    *,
    source: str,
    thread: ThreadFacts,
) -> CrashRecord:
    """The cheap part of a record, for storm control: type, fingerprint, source and thread.

    ``stack`` is the crash's frames (:func:`._format.frames`), walked once and given to
    :func:`build_record` too. No message or stack trace is formatted, so a crash held back in a
    storm costs a walk over its frames and little else. Pure, and never raises on odd exceptions.
    """
    type_text = _format.clean(_format.type_name(exc_type))
    return CrashRecord(
        source=source,
        exception_type=type_text,
        exception_message="",
        exception_stacktrace="",
        fingerprint=_format.fingerprint(type_text, stack),
        thread_name=None if thread.name is None else _format.clean(thread.name),
        thread_id=thread.ident,
        thread_native_id=thread.native_id,
    )


PARTIAL_ATTRIBUTE = "threadcrash.partial"


def minimal_record(
    exc_type: type[BaseException],
    *,
    source: str,
    thread: ThreadFacts,
    fatal: bool = False,
) -> CrashRecord:
    """What is still known when the full record cannot be built: type, source and thread.

    Marked with ``threadcrash.partial``; never raises.
    """
    try:
        type_text = _format.clean(_format.type_name(exc_type))
    except BaseException:
        type_text = "?"
    try:
        name = None if thread.name is None else _format.clean(thread.name)
    except BaseException:
        name = None
    return CrashRecord(
        source=source,
        exception_type=type_text,
        exception_message="",
        exception_stacktrace="",
        fingerprint=_format.fingerprint(type_text, []),
        thread_name=name,
        thread_id=thread.ident,
        thread_native_id=thread.native_id,
        fatal=fatal,
        timestamp_ns=time.time_ns(),
        extra={PARTIAL_ATTRIBUTE: True},
    )


def build_record(
    exc_type: type[BaseException],
    exc_value: BaseException | None,
    exc_tb: TracebackType | None,
    *,
    source: str,
    thread: ThreadFacts,
    limits: Limits,
    timestamp_ns: int = 0,
    parent: ParentSpan | None = None,
    fatal: bool = False,
    extra: Mapping[str, AttributeValue] | None = None,
    fingerprint: str | None = None,
    stack: list[Frame] | None = None,
) -> CrashRecord:
    """Turn one crash into a :class:`CrashRecord`; pure, and never raises on odd exceptions.

    ``fingerprint`` is the one :func:`screening_record` already computed for this crash, if any,
    and ``stack`` the frames already walked (:func:`._format.frames`), if any.
    """
    if stack is None:
        stack = _format.frames(exc_tb)
    type_text = _format.clean(_format.type_name(exc_type))
    text = _format.message(exc_value, limits.message)
    innermost = stack[-1] if stack else None
    function = None if innermost is None else _format.qualname(innermost[3])
    return CrashRecord(
        source=source,
        exception_type=type_text,
        exception_message=text,
        exception_stacktrace=_format.stacktrace(
            exc_value, exc_type, exc_tb, stack, text, limits.stacktrace
        ),
        fingerprint=fingerprint or _format.fingerprint(type_text, stack),
        thread_name=None if thread.name is None else _format.clean(thread.name),
        thread_id=thread.ident,
        thread_native_id=thread.native_id,
        code_function=None if function is None else _format.clean(function),
        code_file=None if innermost is None else _format.clean(innermost[0]),
        code_line=None if innermost is None else innermost[1],
        fatal=fatal,
        timestamp_ns=timestamp_ns,
        parent=parent,
        extra=dict(extra) if extra else {},
    )
