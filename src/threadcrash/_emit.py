"""Emitters: each signal is a few lines over a :class:`CrashRecord`."""

from __future__ import annotations

import importlib
import itertools
import sys
import time
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

from . import _coexist, _flush, _fork
from ._gate import Summary
from ._internal import record_internal_error
from ._record import OTHER, AttributeValue, CrashRecord, thread_role
from ._settings import Settings
from ._version import __version__

SPAN_NAME = "threadcrash.crash"
COUNTER_NAME = "threadcrash.crashes"
SUPPRESSED_NAME = "threadcrash.suppressed"
# The counters' attributes, each bounded; deploy/'s dashboard is generated from these names.
COUNTER_ATTRIBUTES = (
    "error.type",
    "threadcrash.source",
    "threadcrash.thread.role",
    "threadcrash.fingerprint",
)
SUPPRESSED_ATTRIBUTES = ("error.type", "threadcrash.source", "threadcrash.reason")
SUPPRESSED_EVENT = "threadcrash.suppressed"
SUPPRESSED_EVENT_TEXT = "crashes suppressed"
OTHER_ROLE = OTHER
# The SDK has no cardinality limit: a bug that makes exception classes on the fly must not make
# the counters' attribute sets (and memory) grow without end.
MAX_ERROR_TYPES = 200
_EVENTS = {
    "thread": "thread crashed",
    "main": "uncaught exception",
    "unraisable": "unraisable exception",
    "asyncio": "asyncio exception",
    "fatal": "fatal crash",
}
_EXCEPTION_EVENT_KEYS = ("exception.type", "exception.message", "exception.stacktrace")
_EVENT_ONLY_KEYS = frozenset(_EXCEPTION_EVENT_KEYS) - {"exception.type"}


class CardinalityCap:
    """At most ``limit`` distinct values of a metric attribute; the rest become ``other``.

    Lock-free, so a fork taken while another thread is here cannot leave the child stuck:
    ``next()`` on a counter is atomic, so no more than ``limit`` values ever get a slot. Without
    the GIL too: free-threaded CPython (3.13t on) makes ``itertools.count`` atomic itself
    (CPython gh-117657) and locks each set operation; two threads adding one new value at once
    may spend two slots on it, which lowers the number of values kept, never raises it.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._slots = itertools.count()

    def __call__(self, role: str | None) -> str | None:
        if role is None or role in self._seen:
            return role
        if next(self._slots) < self._limit:
            self._seen.add(role)
            return role
        return OTHER_ROLE


class Emitter:
    """Writes the signals of one record; each signal fails alone, as an internal error.

    It decides nothing: what is held back, and why, the reporter decides and tells it.
    """

    def __init__(
        self,
        settings: Settings,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
    ) -> None:
        self._given = (tracer_provider, meter_provider, logger_provider)
        self._tracer = trace.get_tracer("threadcrash", __version__, tracer_provider)
        self._logger = _logs.get_logger("threadcrash", __version__, logger_provider=logger_provider)
        meter = metrics.get_meter("threadcrash", __version__, meter_provider)
        self._counter = meter.create_counter(
            COUNTER_NAME, unit="{crash}", description="Uncaught exceptions reported by threadcrash"
        )
        _fork.track(self._counter)
        self._structlog = settings.structlog
        self._exception_event = settings.exception_signal != "logs"
        self._structlog_logger: Any = None
        self._role = CardinalityCap(settings.max_thread_roles)
        self._error_types = CardinalityCap(MAX_ERROR_TYPES)
        self._fingerprints = CardinalityCap(settings.max_fingerprints)
        self._suppressed = meter.create_counter(
            SUPPRESSED_NAME,
            unit="{crash}",
            description="Crashes counted but not logged or traced (storm control, before_emit)",
        )

    def providers(self) -> list[object]:
        """Return the providers records go to: the given ones, else the globals as they are now."""
        tracer_provider, meter_provider, logger_provider = self._given
        return [
            tracer_provider or trace.get_tracer_provider(),
            meter_provider or metrics.get_meter_provider(),
            logger_provider or _logs.get_logger_provider(),
        ]

    def flush(self, timeout: float) -> bool:
        """Export what is queued, waiting at most ``timeout`` seconds; never raises."""
        try:
            return _flush.flush(self.providers(), timeout)
        except Exception as error:
            record_internal_error("flush", error)
            return False

    def hold_back(self, counted: CrashRecord, reason: str) -> None:
        """Count a crash that is not reported, and in ``threadcrash.suppressed`` why not."""
        try:
            self._count(counted, Context())
        except BaseException as error:
            record_internal_error("counter", error)
        try:
            self._suppressed.add(
                1,
                {
                    "error.type": self._error_type(counted),
                    "threadcrash.source": counted.source,
                    "threadcrash.reason": reason,
                },
            )
        except BaseException as error:
            record_internal_error("suppressed counter", error)

    def summarize(self, summary: Summary) -> None:
        """Tell how many crashes of one fingerprint were held back: a log record and structlog."""
        attributes: dict[str, AttributeValue] = {
            "exception.type": summary.exception_type,
            "threadcrash.source": summary.source,
            "threadcrash.fingerprint": summary.fingerprint,
            "threadcrash.suppressed.count": summary.suppressed,
            "threadcrash.suppressed.seconds": round(summary.seconds, 3),
        }
        try:
            self._logger.emit(
                observed_timestamp=time.time_ns(),
                severity_number=SeverityNumber.WARN,
                severity_text="WARN",
                body=summary.text(),
                attributes=attributes,
                event_name=SUPPRESSED_EVENT,
            )
        except Exception as error:
            record_internal_error("summary log record", error)
        try:
            logger = self._structlog_target()
            if logger is not None:
                logger.warning(SUPPRESSED_EVENT_TEXT, summary=summary.text(), **attributes)
        except Exception as error:
            record_internal_error("summary structlog", error)

    def emit(self, record: CrashRecord, counted: CrashRecord) -> None:
        """Report ``record`` on every signal; the counter counts ``counted`` (as it came).

        Span first: its context goes to the counter's exemplar and to the log record.
        """
        attributes = record.attributes()
        context = Context()
        try:
            context = self._span(record, attributes)
        except BaseException as error:
            record_internal_error("span", error)
        try:
            self._count(counted, context)
        except BaseException as error:
            record_internal_error("counter", error)
        try:
            self._log(record, attributes, context)
        except BaseException as error:
            record_internal_error("log record", error)
        try:
            self._structlog_event(record, attributes, context)
        except BaseException as error:
            record_internal_error("structlog", error)

    def _span(self, record: CrashRecord, attributes: dict[str, AttributeValue]) -> Context:
        parent_context = Context()
        if record.parent is not None:
            parent = SpanContext(
                record.parent.trace_id,
                record.parent.span_id,
                is_remote=record.parent.is_remote,
                trace_flags=TraceFlags(record.parent.trace_flags),
            )
            parent_context = trace.set_span_in_context(NonRecordingSpan(parent), parent_context)
        span = self._tracer.start_span(
            SPAN_NAME,
            context=parent_context,
            kind=SpanKind.INTERNAL,
            # the message and stack trace travel once, in the span's exception event
            attributes={k: v for k, v in attributes.items() if k not in _EVENT_ONLY_KEYS},
            start_time=record.timestamp_ns or None,
            record_exception=False,
            set_status_on_exception=False,
        )
        if self._exception_event:
            span.add_event(
                "exception",
                {key: attributes[key] for key in _EXCEPTION_EVENT_KEYS},
                timestamp=record.timestamp_ns or None,
            )
        span.set_status(
            Status(StatusCode.ERROR, f"{record.exception_type}: {record.exception_message[:256]}")
        )
        span.end()
        return trace.set_span_in_context(span, Context())

    def _error_type(self, record: CrashRecord) -> str:
        """``error.type`` for the counters: the first ``MAX_ERROR_TYPES`` types, then ``other``."""
        return self._error_types(record.exception_type) or OTHER_ROLE

    def _count(self, record: CrashRecord, context: Context) -> None:
        attributes: dict[str, AttributeValue] = {
            "error.type": self._error_type(record),
            "threadcrash.source": record.source,
        }
        role = self._role(thread_role(record.thread_name))  # the name is redacted already
        if role is not None:
            attributes["threadcrash.thread.role"] = role
        attributes["threadcrash.fingerprint"] = self._fingerprints(record.fingerprint) or OTHER_ROLE
        self._counter.add(1, attributes, context=context)

    def _log(
        self, record: CrashRecord, attributes: dict[str, AttributeValue], context: Context
    ) -> None:
        fatal = record.fatal
        self._logger.emit(
            timestamp=record.timestamp_ns or None,
            observed_timestamp=time.time_ns(),
            context=context,
            severity_number=SeverityNumber.FATAL if fatal else SeverityNumber.ERROR,
            severity_text="FATAL" if fatal else "ERROR",
            body=record.exception_message,
            attributes=attributes,
            event_name="exception",
        )

    def _structlog_target(self) -> Any:
        """Our structlog logger, or None when no structlog event is wanted.

        An application that configured structlog has imported it, so with the default (auto)
        a program that never did costs neither the import nor a line on its stdout.
        """
        wanted = self._structlog
        if wanted is False:
            return None
        module = sys.modules.get("structlog")
        if wanted is None and (module is None or not module.is_configured()):
            return None
        if self._structlog_logger is None:
            module = module or importlib.import_module("structlog")
            self._structlog_logger = module.get_logger("threadcrash")
        return self._structlog_logger

    def _structlog_event(
        self, record: CrashRecord, attributes: dict[str, AttributeValue], context: Context
    ) -> None:
        default = self._structlog_target()
        if default is None:
            return
        event: dict[str, object] = dict(attributes)
        event.pop("exception.stacktrace", None)
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            event["trace_id"] = format(span_context.trace_id, "032x")
            event["span_id"] = format(span_context.span_id, "016x")
        if record.exception_stacktrace:
            # structlog's own key for a formatted traceback, without the final newline as its
            # format_exc_info writes it: ConsoleRenderer prints it as lines under the event.
            event["exception"] = record.exception_stacktrace.removesuffix("\n")
        name = _EVENTS.get(record.source, "crash")
        logger = _coexist.structlog_logger(default)
        with _coexist.our_structlog_event():
            if record.fatal:
                logger.critical(name, **event)
            else:
                logger.error(name, **event)
