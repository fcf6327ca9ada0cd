"""The path every source shares: screen, gate, build the record, filter, emit.

Sources call :meth:`Reporter.report` and nothing else. The reporter holds each stage by name:
the storm :class:`~._gate.Gate` (None when rate limiting is off), the user's
:class:`~._filter.ReportFilter` (redaction, then ``before_emit``) and the emitter that writes the
signals. What a stage holds back is counted by a call the reporter makes, never by the emitter on
its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Protocol

from . import _format
from ._filter import ReportFilter
from ._gate import Gate, Summary
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


class Signals(Protocol):
    """What the reporter needs of the emitter: it writes signals and decides nothing."""

    def emit(self, record: CrashRecord, counted: CrashRecord) -> None:
        """Report ``record`` on every signal; the counter counts ``counted``."""

    def hold_back(self, counted: CrashRecord, reason: str) -> None:
        """Count a crash that is not reported, and why (``threadcrash.suppressed``)."""

    def summarize(self, summary: Summary) -> None:
        """Tell how many crashes of one kind storm control held back."""

    def providers(self) -> list[object]:
        """The providers the signals go to."""

    def flush(self, timeout: float) -> bool:
        """Export what is queued within ``timeout`` seconds; True if all of it went."""


class Reporter:
    """Turns a crash's raw facts into one report; sources call :meth:`report` and nothing else."""

    def __init__(self, settings: Settings, emitter: Signals) -> None:
        self.settings = settings
        self.limits = Limits(settings.max_message_length, settings.max_stacktrace_length)
        self.gate = (
            Gate(settings.rate_limit, settings.burst, settings.summary_interval)
            if settings.rate_limit > 0
            else None
        )
        self.filter = ReportFilter(
            settings.redact, settings.redact_defaults, settings.before_emit, self.limits
        )
        self.emitter = emitter
        self.last_pid: int | None = None  # the process that last reported: a child's own?

    def providers(self) -> list[object]:
        """Return the providers the emitter sends to."""
        return list(self.emitter.providers())

    def flush(self) -> bool:
        """Export what the emitter holds, bounded by ``flush_timeout``; True if all of it went."""
        try:
            return bool(self.emitter.flush(self.settings.flush_timeout))
        except BaseException as error:  # a Ctrl-C during the flush ends the wait, nothing else
            record_internal_error("flush", error)
            return False

    def flush_summaries(self) -> None:
        """Tell every summary storm control still holds (at ``uninstrument()`` and at exit)."""
        if self.gate is not None:
            for summary in self.gate.drain():
                self.emitter.summarize(summary)

    def emit(self, record: CrashRecord) -> bool:
        """Send a record built elsewhere (a crash file's), with the same guard as :meth:`report`."""
        if in_emission():
            return False
        self.last_pid = os.getpid()
        with emission_guard():
            return self._gated(record)

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
            # screen: only the type, the frames and the thread, before any text is formatted
            fingerprint = None
            try:
                stack = _format.frames(exc_tb)
                screened = None
                if self.gate is not None and not fatal:
                    screened = screening_record(exc_type, stack, source=source, thread=thread)
            except BaseException as error:
                record_internal_error("record", error)
                return self._minimal(exc_type, source, thread, fatal)
            if screened is not None:
                if not self._admit(screened):
                    return True  # held back by storm control, and counted
                fingerprint = screened.fingerprint
            try:
                record = build_record(
                    exc_type,
                    exc_value,
                    exc_tb,
                    source=source,
                    thread=thread,
                    limits=self.limits,
                    timestamp_ns=time.time_ns(),
                    parent=parent,
                    fatal=fatal,
                    extra=extra,
                    fingerprint=fingerprint,
                    stack=stack,
                )
            except BaseException as error:
                record_internal_error("record", error)
                return self._minimal(exc_type, source, thread, fatal)
            return self._filtered(record)

    def _minimal(
        self, exc_type: type[BaseException], source: str, thread: ThreadFacts, fatal: bool
    ) -> bool:
        """Count and report what is known, so that no crash goes uncounted; always False."""
        self._gated(minimal_record(exc_type, source=source, thread=thread, fatal=fatal))
        return False

    def _gated(self, record: CrashRecord) -> bool:
        """A whole record through the gate (a fatal crash always passes), then on."""
        if self.gate is not None and not record.fatal and not self._admit(record):
            return True
        return self._filtered(record)

    def _admit(self, record: CrashRecord) -> bool:
        """Storm control: False when the crash is held back (and then counted), else True."""
        gate = self.gate
        if gate is None:
            return True
        try:
            allowed, summaries = gate.admit(
                record.fingerprint, record.exception_type, record.source
            )
            for summary in summaries:
                self.emitter.summarize(summary)
            if not allowed:
                self.emitter.hold_back(self._counted(record), "rate_limit")
        except BaseException as error:
            record_internal_error("screen", error)
            return True
        return allowed

    def _filtered(self, record: CrashRecord) -> bool:
        """Redaction and ``before_emit``, then every signal."""
        try:
            try:
                edited = self.filter(record)
            except BaseException as error:  # a redaction bug: no report beats an unredacted one
                record_internal_error("redaction", error)
                self.emitter.hold_back(self._counted(record), "error")
                return True
            if edited is None:
                self.emitter.hold_back(self._counted(record), "before_emit")
            else:
                self.emitter.emit(edited, self._counted(record))
        except BaseException as error:
            record_internal_error("emit", error)
            return False
        return True

    def _counted(self, record: CrashRecord) -> CrashRecord:
        """What the counters see: the record as it came, its thread name redacted.

        ``before_emit`` cannot change what is counted; the role label is built from the name.
        """
        try:
            return self.filter.counted(record)
        except BaseException as error:  # a redaction bug costs the label, not the count
            record_internal_error("redaction", error)
            return self.filter.unlabelled(record)
