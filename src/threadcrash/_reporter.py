"""The path every source shares: build the record once, then hand it to the emitters."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Protocol

from ._internal import emission_guard, in_emission, record_internal_error
from ._record import (
    AttributeValue,
    CrashRecord,
    Limits,
    ParentSpan,
    ThreadFacts,
    build_record,
    minimal_record,
    screening_record,
)
from ._settings import Settings


class Sink(Protocol):
    """Anything that sends a record on: the emitters, or a test's list."""

    def emit(self, record: CrashRecord) -> None: ...


class Reporter:
    """Turns a crash's raw facts into one report; sources call :meth:`report` and nothing else."""

    def __init__(self, settings: Settings, sink: Sink) -> None:
        self.settings = settings
        self._sink = sink
        self._limits = Limits(settings.max_message_length, settings.max_stacktrace_length)
        self.last_pid: int | None = None  # the process that last reported: a child's own?
        # storm control, where the sink has it: screen() sees the cheap part of the record and
        # holds the crash back before its text is formatted; emit_screened() skips the gate.
        self._screen: Callable[[CrashRecord], bool] | None = getattr(sink, "screen", None)
        self._emit_screened: Callable[[CrashRecord], None] | None = getattr(
            sink, "emit_screened", None
        )

    def providers(self) -> list[object]:
        """Return the providers the sink sends to, where it knows them."""
        providers = getattr(self._sink, "providers", None)
        return list(providers()) if providers is not None else []

    def flush(self) -> bool:
        """Export what the sink holds, bounded by ``flush_timeout``; True if all of it went."""
        flush = getattr(self._sink, "flush", None)
        if flush is None:
            return True
        try:
            return bool(flush(self.settings.flush_timeout))
        except BaseException as error:  # a Ctrl-C during the flush ends the wait, nothing else
            record_internal_error("flush", error)
            return False

    def emit(self, record: CrashRecord) -> bool:
        """Send a record built elsewhere (a crash file's), with the same guard as :meth:`report`."""
        if in_emission():
            return False
        self.last_pid = os.getpid()
        with emission_guard():
            return self._send(record)

    def report(
        self,
        exc_type: type[BaseException],
        exc_value: BaseException | None,
        exc_tb: TracebackType | None,
        *,
        source: str,
        thread: ThreadFacts,
        parent: ParentSpan | None = None,
        fatal: bool = False,
        extra: Mapping[str, AttributeValue] | None = None,
    ) -> bool:
        """Report one crash; False if it was not fully reported (our failure or re-entry).

        Never raises, not even ``KeyboardInterrupt``. A crash raised from inside our own
        emission path (a failing processor or exporter on this thread) is not reported again.
        When the full record cannot be built (an exception hostile enough to defeat the
        formatting), a minimal one is reported and counted instead (type, source, thread), and
        False is returned: the previous hook still has the only full traceback.
        """
        if in_emission():
            return False
        self.last_pid = os.getpid()
        with emission_guard():
            emit: Callable[[CrashRecord], None] = self._sink.emit
            fingerprint = None
            if self._screen is not None and not fatal:
                try:
                    screened = screening_record(exc_type, exc_tb, source=source, thread=thread)
                except BaseException as error:
                    record_internal_error("record", error)
                    return self._send_minimal(exc_type, source, thread, fatal)
                try:
                    if not self._screen(screened):
                        return True  # held back by storm control, and counted
                    fingerprint = screened.fingerprint
                    emit = self._emit_screened or emit
                except BaseException as error:
                    record_internal_error("screen", error)
            try:
                record = build_record(
                    exc_type,
                    exc_value,
                    exc_tb,
                    source=source,
                    thread=thread,
                    limits=self._limits,
                    timestamp_ns=time.time_ns(),
                    parent=parent,
                    fatal=fatal,
                    extra=extra,
                    fingerprint=fingerprint,
                )
            except BaseException as error:
                record_internal_error("record", error)
                return self._send_minimal(exc_type, source, thread, fatal)
            return self._send(record, emit)

    def _send_minimal(
        self, exc_type: type[BaseException], source: str, thread: ThreadFacts, fatal: bool
    ) -> bool:
        """Count and report what is known, so that no crash goes uncounted; always False."""
        self._send(minimal_record(exc_type, source=source, thread=thread, fatal=fatal))
        return False

    def _send(self, record: CrashRecord, emit: Callable[[CrashRecord], None] | None = None) -> bool:
        try:
            (emit or self._sink.emit)(record)
        except BaseException as error:
            record_internal_error("emit", error)
            return False
        return True
