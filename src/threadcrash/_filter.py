"""What the user controls between the record and the signals: redaction, then ``before_emit``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import _format
from ._internal import record_internal_error
from ._record import OTHER, CrashRecord, Limits

if TYPE_CHECKING:
    from ._redact import Redactor

BeforeEmit = Callable[[CrashRecord], "CrashRecord | None"]


class ReportFilter:
    """Redacts, then hands the record to ``before_emit``; the result stays within the limits.

    If ``before_emit`` raises or returns something other than a record or None, the redacted
    record goes out unedited and the first such error is recorded (once per installation).
    """

    def __init__(
        self,
        patterns: tuple[re.Pattern[str], ...],
        defaults: bool,
        before_emit: BeforeEmit | None,
        limits: Limits,
    ) -> None:
        self._patterns = patterns
        self._defaults = defaults
        self._redactor: Redactor | None = None  # built by the first crash
        self._before_emit = before_emit
        self._limits = limits
        self._callback_failed = False

    @property
    def redactor(self) -> Redactor:
        """The redaction rules, built by the first crash that needs them."""
        redactor = self._redactor
        if redactor is None:
            # a measured start-up choice: the redaction module compiles its rules at import
            from ._redact import Redactor  # noqa: PLC0415

            redactor = self._redactor = Redactor(self._patterns, self._defaults)
        return redactor

    def __call__(self, record: CrashRecord) -> CrashRecord | None:
        if self._defaults or self._patterns:
            record = self._redact(record)
        if self._before_emit is None:
            return record
        try:
            edited = self._before_emit(record)
            if edited is None:
                return None
            if not isinstance(edited, CrashRecord):
                raise TypeError(
                    f"before_emit must return a CrashRecord or None, not {type(edited).__name__}"
                )
            return edited if edited is record else self._bound(edited)
        except BaseException as error:
            if not self._callback_failed:
                self._callback_failed = True
                record_internal_error("before_emit", error)
            return record

    def _redact(self, record: CrashRecord) -> CrashRecord:
        redact = self.redactor
        changes: dict[str, object] = {}
        message = redact(record.exception_message)
        if message != record.exception_message:
            changes["exception_message"] = message
        stacktrace = redact(record.exception_stacktrace)
        if stacktrace != record.exception_stacktrace:
            changes["exception_stacktrace"] = stacktrace
        name = self.scrub(record.thread_name)
        if name != record.thread_name:
            changes["thread_name"] = name
        if any(isinstance(value, str) for value in record.extra.values()):
            extra = {
                key: redact(value) if isinstance(value, str) else value
                for key, value in record.extra.items()
            }
            if extra != record.extra:
                changes["extra"] = extra
        if not changes:
            return record
        return self._bound(dataclasses.replace(record, **changes))  # type: ignore[arg-type]

    def scrub(self, text: str | None) -> str | None:
        """One short text redacted (a thread name, for the metric's role label too)."""
        if text is None or not (self._defaults or self._patterns):
            return text
        return self.redactor(text)

    def counted(self, record: CrashRecord) -> CrashRecord:
        """The record as the counters see it: as it came, its thread name redacted."""
        name = self.scrub(record.thread_name)
        if name == record.thread_name:
            return record
        return dataclasses.replace(record, thread_name=name)

    @staticmethod
    def unlabelled(record: CrashRecord) -> CrashRecord:
        """The record for the counters when redaction failed: the thread's role is lost."""
        if record.thread_name is None:
            return record
        return dataclasses.replace(record, thread_name=OTHER)

    def _bound(self, record: CrashRecord) -> CrashRecord:
        """A pattern or a callback may lengthen the text; the limits hold all the same."""
        message = _format.bound(record.exception_message, self._limits.message)
        stacktrace = _format.bound_tail(record.exception_stacktrace, self._limits.stacktrace)
        if message is record.exception_message and stacktrace is record.exception_stacktrace:
            return record
        return dataclasses.replace(
            record, exception_message=message, exception_stacktrace=stacktrace
        )
