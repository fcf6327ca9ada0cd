"""The public entry points ``instrument()`` and ``uninstrument()``."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from . import _lifecycle
from ._record import CrashRecord

if TYPE_CHECKING:
    from opentelemetry._logs import LoggerProvider
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider


class _Unset(enum.Enum):
    """A keyword left out: its variable decides, else its default."""

    UNSET = "unset"


UNSET = _Unset.UNSET


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    logger_provider: LoggerProvider | None = None,
    disabled: bool | _Unset = UNSET,
    sources: Iterable[str] | str | _Unset = UNSET,
    chain: bool | _Unset = UNSET,
    max_message_length: int | _Unset = UNSET,
    max_stacktrace_length: int | _Unset = UNSET,
    capture_parent: bool | _Unset = UNSET,
    structlog: bool | _Unset | None = UNSET,
    max_thread_roles: int | _Unset = UNSET,
    max_fingerprints: int | _Unset = UNSET,
    flush_timeout: float | _Unset = UNSET,
    global_providers: bool | _Unset = UNSET,
    report_keyboard_interrupt: bool | _Unset = UNSET,
    crash_dir: str | _Unset = UNSET,
    rate_limit: float | _Unset = UNSET,
    burst: int | _Unset = UNSET,
    summary_interval: float | _Unset = UNSET,
    redact: Iterable[str | re.Pattern[str]] | str | _Unset = UNSET,
    redact_defaults: bool | _Unset = UNSET,
    before_emit: Callable[[CrashRecord], CrashRecord | None] | str | _Unset | None = UNSET,
    exception_signal: Literal["logs", "logs/dup"] | _Unset = UNSET,
    disabled_instrumentations: Iterable[str] | str | _Unset = UNSET,
    service_name: str | _Unset | None = UNSET,
    resource_attributes: Mapping[str, str] | str | _Unset = UNSET,
    traces_exporter: Sequence[str] | str | _Unset | None = UNSET,
    metrics_exporter: Sequence[str] | str | _Unset | None = UNSET,
    logs_exporter: Sequence[str] | str | _Unset | None = UNSET,
    otlp_endpoint: str | _Unset | None = UNSET,
    otlp_protocol: Literal["grpc", "http/protobuf"] | _Unset | None = UNSET,
    otlp_headers: Mapping[str, str] | str | _Unset | None = UNSET,
    otlp_timeout: float | _Unset | None = UNSET,
    otlp_compression: Literal["gzip", "deflate", "none"] | _Unset | None = UNSET,
    otlp_traces_endpoint: str | _Unset | None = UNSET,
    otlp_traces_protocol: Literal["grpc", "http/protobuf"] | _Unset | None = UNSET,
    otlp_traces_headers: Mapping[str, str] | str | _Unset | None = UNSET,
    otlp_traces_timeout: float | _Unset | None = UNSET,
    otlp_traces_compression: Literal["gzip", "deflate", "none"] | _Unset | None = UNSET,
    otlp_metrics_endpoint: str | _Unset | None = UNSET,
    otlp_metrics_protocol: Literal["grpc", "http/protobuf"] | _Unset | None = UNSET,
    otlp_metrics_headers: Mapping[str, str] | str | _Unset | None = UNSET,
    otlp_metrics_timeout: float | _Unset | None = UNSET,
    otlp_metrics_compression: Literal["gzip", "deflate", "none"] | _Unset | None = UNSET,
    otlp_logs_endpoint: str | _Unset | None = UNSET,
    otlp_logs_protocol: Literal["grpc", "http/protobuf"] | _Unset | None = UNSET,
    otlp_logs_headers: Mapping[str, str] | str | _Unset | None = UNSET,
    otlp_logs_timeout: float | _Unset | None = UNSET,
    otlp_logs_compression: Literal["gzip", "deflate", "none"] | _Unset | None = UNSET,
) -> None:
    """Report every uncaught exception; idempotent (one crash, one report, however often called).

    Every option left out is read from its environment variable (``THREADCRASH_*`` first, then
    the standard ``OTEL_*`` one), else it takes its default; the README's table lists them. A
    keyword with a bad value raises ``ValueError``; a bad variable warns once and is ignored.

    Args:
        tracer_provider: Provider of the crash spans (else the global one, or one built from
            ``OTEL_*`` when asked for export).
        meter_provider: Provider of the crash counter (likewise).
        logger_provider: Provider of the crash log records (likewise).
        disabled: Turn threadcrash off entirely (also off when ``OTEL_SDK_DISABLED=true``) (else
            ``THREADCRASH_DISABLED``, then ``OTEL_SDK_DISABLED``).
        sources: Crash sources to hook, comma-separated: ``thread``, ``main``, ``unraisable``,
            ``asyncio``, ``future``, ``process``, ``fatal`` (opt-in), or ``all`` (else
            ``THREADCRASH_SOURCES``).
        chain: Call the previously installed hook (by default CPython's, which prints the
            traceback) (else ``THREADCRASH_CHAIN``).
        max_message_length: Longest ``exception.message``, in characters (else
            ``THREADCRASH_MAX_MESSAGE_LENGTH``).
        max_stacktrace_length: Longest ``exception.stacktrace``, in characters (the innermost
            frames are kept) (else ``THREADCRASH_MAX_STACKTRACE_LENGTH``).
        capture_parent: Remember the current span at ``Thread.start`` so a crash joins the trace
            that started the thread (else ``THREADCRASH_CAPTURE_PARENT``).
        structlog: Emit structlog events: ``auto`` (when the application configured structlog),
            ``true``, ``false`` (else ``THREADCRASH_STRUCTLOG``).
        max_thread_roles: Distinct thread roles kept as a metric attribute; later ones are counted
            as ``other`` (else ``THREADCRASH_MAX_THREAD_ROLES``).
        max_fingerprints: Distinct crash groups (``threadcrash.fingerprint``) kept as a label of
            the crash counter; later ones are counted as ``other`` (else
            ``THREADCRASH_MAX_FINGERPRINTS``).
        flush_timeout: Seconds to wait for export when a crash ends the process, and at exit (else
            ``THREADCRASH_FLUSH_TIMEOUT``).
        global_providers: Make the providers threadcrash builds the process's global ones, so other
            instrumentation exports through them too (by default they are threadcrash's own) (else
            ``THREADCRASH_GLOBAL_PROVIDERS``).
        report_keyboard_interrupt: Report a ``KeyboardInterrupt`` that ends the process (source
            ``main``) as a crash (else ``THREADCRASH_REPORT_KEYBOARD_INTERRUPT``).
        crash_dir: Directory of the ``fatal`` source's crash files (default: ``threadcrash`` under
            the temporary directory) (else ``THREADCRASH_CRASH_DIR``).
        rate_limit: Storm control: reports (spans, log records, structlog events) per second per
            fingerprint once the burst is spent; ``0`` turns it off. The counter is never limited
            (else ``THREADCRASH_RATE_LIMIT``).
        burst: Storm control: reports of one fingerprint let through at once before the rate
            applies (else ``THREADCRASH_BURST``).
        summary_interval: Storm control: longest wait, in seconds, before suppressed crashes of a
            fingerprint are summed up in a summary event (told on that fingerprint's next crash)
            (else ``THREADCRASH_SUMMARY_INTERVAL``).
        redact: Extra redaction patterns for messages and stack traces: one regular expression, or
            a JSON list of them; a group named ``secret`` (or else the first group) is replaced
            (else ``THREADCRASH_REDACT``).
        redact_defaults: Redact secrets from every text that leaves threadcrash: key=value forms,
            vendor tokens, URL credentials, Authorization headers, high-entropy source-line
            literals (see Redaction) (else ``THREADCRASH_REDACT_DEFAULTS``).
        before_emit: ``module:function`` called with each report's ``CrashRecord`` before any
            signal; it returns the record, an edited copy (``dataclasses.replace``) or None to drop
            it (else ``THREADCRASH_BEFORE_EMIT``).
        exception_signal: ``logs/dup``: the exception goes in the log record and in the span's
            ``exception`` event; ``logs``: in the log record only (the span keeps its status and
            tags) (else ``THREADCRASH_EXCEPTION_SIGNAL``, then
            ``OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN``).
        disabled_instrumentations: ``threadcrash`` (or ``*``) in this list turns threadcrash off,
            as it does for ``opentelemetry-instrument`` (else
            ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``).
        service_name: ``service.name`` of the resource, for the providers threadcrash builds (else
            ``OTEL_SERVICE_NAME``).
        resource_attributes: More resource attributes, ``key=value,key=value``, for the providers
            threadcrash builds (else ``OTEL_RESOURCE_ATTRIBUTES``).
        traces_exporter: Exporters of the traces threadcrash builds a provider for: ``otlp``,
            ``console``, ``none``, or any name of an installed exporter entry point (else
            ``OTEL_TRACES_EXPORTER``).
        metrics_exporter: Exporters of the metrics threadcrash builds a provider for: ``otlp``,
            ``console``, ``none``, or any name of an installed exporter entry point (else
            ``OTEL_METRICS_EXPORTER``).
        logs_exporter: Exporters of the logs threadcrash builds a provider for: ``otlp``,
            ``console``, ``none``, or any name of an installed exporter entry point (else
            ``OTEL_LOGS_EXPORTER``).
        otlp_endpoint: OTLP endpoint; over HTTP, ``/v1/<signal>`` is appended (else
            ``OTEL_EXPORTER_OTLP_ENDPOINT``).
        otlp_protocol: OTLP protocol, ``http/protobuf`` or ``grpc`` (the ``grpc`` extra) (else
            ``OTEL_EXPORTER_OTLP_PROTOCOL``).
        otlp_headers: Headers of every OTLP request, ``key=value,key=value`` (else
            ``OTEL_EXPORTER_OTLP_HEADERS``).
        otlp_timeout: Seconds per OTLP export (seconds, as the Python SDK reads it) (else
            ``OTEL_EXPORTER_OTLP_TIMEOUT``).
        otlp_compression: Compression of OTLP requests: ``gzip``, ``deflate`` (HTTP only), ``none``
            (else ``OTEL_EXPORTER_OTLP_COMPRESSION``).
        otlp_traces_endpoint: OTLP endpoint for traces (the full URL over HTTP) (else
            ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``).
        otlp_traces_protocol: OTLP protocol for traces (else
            ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``).
        otlp_traces_headers: Headers of every OTLP request for traces, ``key=value,key=value``
            (else ``OTEL_EXPORTER_OTLP_TRACES_HEADERS``).
        otlp_traces_timeout: Seconds per OTLP export of traces (seconds, as the Python SDK reads
            it) (else ``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT``).
        otlp_traces_compression: Compression of OTLP requests for traces: ``gzip``, ``deflate``
            (HTTP only), ``none`` (else ``OTEL_EXPORTER_OTLP_TRACES_COMPRESSION``).
        otlp_metrics_endpoint: OTLP endpoint for metrics (the full URL over HTTP) (else
            ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT``).
        otlp_metrics_protocol: OTLP protocol for metrics (else
            ``OTEL_EXPORTER_OTLP_METRICS_PROTOCOL``).
        otlp_metrics_headers: Headers of every OTLP request for metrics, ``key=value,key=value``
            (else ``OTEL_EXPORTER_OTLP_METRICS_HEADERS``).
        otlp_metrics_timeout: Seconds per OTLP export of metrics (seconds, as the Python SDK reads
            it) (else ``OTEL_EXPORTER_OTLP_METRICS_TIMEOUT``).
        otlp_metrics_compression: Compression of OTLP requests for metrics: ``gzip``, ``deflate``
            (HTTP only), ``none`` (else ``OTEL_EXPORTER_OTLP_METRICS_COMPRESSION``).
        otlp_logs_endpoint: OTLP endpoint for logs (the full URL over HTTP) (else
            ``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT``).
        otlp_logs_protocol: OTLP protocol for logs (else ``OTEL_EXPORTER_OTLP_LOGS_PROTOCOL``).
        otlp_logs_headers: Headers of every OTLP request for logs, ``key=value,key=value`` (else
            ``OTEL_EXPORTER_OTLP_LOGS_HEADERS``).
        otlp_logs_timeout: Seconds per OTLP export of logs (seconds, as the Python SDK reads it)
            (else ``OTEL_EXPORTER_OTLP_LOGS_TIMEOUT``).
        otlp_logs_compression: Compression of OTLP requests for logs: ``gzip``, ``deflate`` (HTTP
            only), ``none`` (else ``OTEL_EXPORTER_OTLP_LOGS_COMPRESSION``).
    """
    given = {name: value for name, value in locals().items() if value is not UNSET}
    _lifecycle.install(**given)


def uninstrument() -> None:
    """Exact mirror of :func:`instrument`; hooks replaced by someone else since are left inert."""
    _lifecycle.uninstall()
