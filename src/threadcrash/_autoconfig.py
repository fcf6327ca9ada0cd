"""Auto-configuration: the SDK providers threadcrash builds from ``OTEL_*``, at the first report.

Nothing here runs at ``instrument()``: the first crash calls :func:`configure`, which decides per
signal (traces, metrics, logs), in this order:

1. a provider passed to ``instrument()`` is used as it is;
2. a global provider the application (or ``opentelemetry-instrument``) has set is used;
3. else, if the settings ask for export (``OTEL_<SIGNAL>_EXPORTER``, or an OTLP endpoint for
   the signal), threadcrash builds an SDK provider with batch processing and the resource from
   ``OTEL_SERVICE_NAME``/``OTEL_RESOURCE_ATTRIBUTES``; it stays threadcrash's own unless
   ``global_providers`` asks to make it global;
4. else nothing: no provider, no exporter, no network connection.

When no thread can start (interpreter shutdown), the providers are built synchronous instead:
simple processors and a metric reader without a thread, each export bounded by a share of
``flush_timeout``. The providers built here are flushed and shut down by their owner, the
lifecycle, at exit or by ``uninstrument()``, each time with a wait bounded by ``flush_timeout``.
"""

from __future__ import annotations

import importlib.util
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import _logs, metrics, trace

from . import _flush, _reach
from ._internal import record_internal_error
from ._settings import Settings, warn_bad_value

SIGNALS = ("traces", "metrics", "logs")

_HTTP = "opentelemetry.exporter.otlp.proto.http"
_GRPC = "opentelemetry.exporter.otlp.proto.grpc"
_DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
_DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"
_DEFAULT_TIMEOUT = 10.0

# global providers an earlier installation built: uninstrument() shut them down, and although
# they stay the globals (OpenTelemetry sets a global once), they do not count as "set"
_retired: list[Any] = []
_retired_lock = threading.Lock()


@dataclass
class Providers:
    """The providers an installation sends to (None: the global one) and those it built."""

    tracer_provider: Any = None
    meter_provider: Any = None
    logger_provider: Any = None
    built: list[Any] = field(default_factory=list)
    registered: list[Any] = field(default_factory=list)  # those made global
    synchronous: bool = False  # built when no thread could start: every export already done
    # the OTLP exporters built, with their endpoints: shut down at once if nothing listens there
    exporters: list[tuple[Any, str]] = field(default_factory=list)

    def shutdown(self, timeout: float) -> bool:
        """Flush and shut down what was built here, waiting at most ``timeout`` seconds.

        A collector that refuses connections costs a probe, not ``timeout``: its exporters are
        shut down first, so what is left fails at once instead of being retried.
        """
        built, self.built = self.built, []
        if not built:
            return True
        with _retired_lock:
            _retired.extend(self.registered)
        self.registered = []
        if self.synchronous:
            return True  # simple processors and a flushed reader: nothing is left to send
        deadline = time.monotonic() + timeout
        self.abandon_refused(timeout)
        remaining = max(0.0, deadline - time.monotonic())
        return _flush.call_bounded([provider.shutdown for provider in built], remaining, "shutdown")

    def abandon_refused(self, timeout: float) -> bool:
        """Shut down the exporters whose collector refuses connections; True if any did."""
        exporters, self.exporters = self.exporters, []
        refused = _reach.refused({endpoint for _, endpoint in exporters}, timeout)
        for exporter, endpoint in exporters:
            if endpoint not in refused:
                self.exporters.append((exporter, endpoint))
                continue
            try:
                exporter.shutdown()  # also ends a retry's back-off wait in the export thread
            except Exception as error:
                record_internal_error("exporter shutdown", error)
        return bool(refused)

    def refused(self, timeout: float) -> bool:
        """True when a collector of the exporters built here refuses connections."""
        return bool(_reach.refused({endpoint for _, endpoint in self.exporters}, timeout))

    def flush_synchronously(self) -> None:
        """Synchronous providers: export the counter now (spans and logs went at once)."""
        for provider in self.built:
            if provider is self.meter_provider:
                try:
                    provider.force_flush()
                except Exception as error:
                    record_internal_error("metrics export", error)


def installed_protocols() -> list[str]:
    """The OTLP protocols whose exporter package is importable, preferred first."""
    found = []
    for protocol, module in (("http/protobuf", _HTTP), ("grpc", _GRPC)):
        try:
            if importlib.util.find_spec(module) is not None:
                found.append(protocol)
        except (ImportError, ValueError):
            continue
    return found


def configure(
    settings: Settings,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    logger_provider: Any = None,
    *,
    synchronous: bool = False,
) -> Providers:
    """Decide, per signal, which provider the emitters use; build where asked (at a first crash).

    ``synchronous``: no thread may be started (interpreter shutdown), so what is built exports
    in the caller's thread, each export bounded by a third of ``flush_timeout``.
    """
    result = Providers(tracer_provider, meter_provider, logger_provider, synchronous=synchronous)
    resource: Any = None
    build = _Build(settings, synchronous, result.exporters)
    for signal in SIGNALS:
        attribute = _PROVIDER_ATTRIBUTE[signal]
        if getattr(result, attribute) is not None or _global_is_set(signal):
            continue
        names = exporters_asked(settings, signal)
        if not names:
            continue
        try:
            if resource is None:
                resource = _resource(settings)
            provider = _BUILDERS[signal](build, names, resource)
        except Exception as error:
            record_internal_error(f"auto-configuration of {signal}", error)
            continue
        if provider is None:
            continue
        result.built.append(provider)
        setattr(result, attribute, provider)
        if settings.global_providers and not _global_is_set(signal):
            _SETTERS[signal](provider)
            result.registered.append(provider)
    return result


@dataclass
class _Build:
    """How to build: the settings, whether synchronous, where the OTLP exporters are noted."""

    settings: Settings
    synchronous: bool
    exporters: list[tuple[Any, str]]


def exporters_asked(settings: Settings, signal: str) -> tuple[str, ...]:
    """Return the exporter names for ``signal``.

    The ``OTEL_<SIGNAL>_EXPORTER`` list if set, else ``otlp`` when an OTLP endpoint (general or
    for the signal) is set, else none.
    """
    names: tuple[str, ...] | None = getattr(settings, f"{signal}_exporter")
    if names is not None:
        return names
    if settings.otlp_endpoint or getattr(settings, f"otlp_{signal}_endpoint"):
        return ("otlp",)
    return ()


# which providers are set


def _global_is_set(signal: str) -> bool:
    if signal == "traces":
        provider: Any = trace.get_tracer_provider()
        unset = isinstance(provider, trace.ProxyTracerProvider)
    elif signal == "metrics":
        from opentelemetry.metrics._internal import _ProxyMeterProvider

        provider = metrics.get_meter_provider()
        unset = isinstance(provider, _ProxyMeterProvider)
    else:
        from opentelemetry._logs._internal import ProxyLoggerProvider

        provider = _logs.get_logger_provider()
        unset = isinstance(provider, ProxyLoggerProvider)
    if unset:
        return False
    with _retired_lock:
        return not any(provider is retired for retired in _retired)


_PROVIDER_ATTRIBUTE = {
    "traces": "tracer_provider",
    "metrics": "meter_provider",
    "logs": "logger_provider",
}
_SETTERS: dict[str, Callable[[Any], None]] = {
    "traces": trace.set_tracer_provider,
    "metrics": metrics.set_meter_provider,
    "logs": _logs.set_logger_provider,
}


# building


def _resource(settings: Settings) -> Any:
    from opentelemetry.sdk.resources import Resource

    attributes: dict[str, Any] = dict(settings.resource_attributes)
    if settings.service_name is not None:
        attributes["service.name"] = settings.service_name
    return Resource.create(attributes)


def _build_traces(build: _Build, names: tuple[str, ...], resource: Any) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    exporters = _exporters(build, "traces", names)
    if not exporters:
        return None
    processor = SimpleSpanProcessor if build.synchronous else BatchSpanProcessor
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    for exporter in exporters:
        provider.add_span_processor(processor(exporter))
    return provider


def _build_metrics(build: _Build, names: tuple[str, ...], resource: Any) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader

    # an infinite interval: the reader starts no thread and exports when flushed
    interval = {"export_interval_millis": math.inf} if build.synchronous else {}
    readers = [
        exporter
        if isinstance(exporter, MetricReader)
        else PeriodicExportingMetricReader(exporter, **interval)
        for exporter in _exporters(build, "metrics", names)
    ]
    if not readers:
        return None
    return MeterProvider(metric_readers=readers, resource=resource, shutdown_on_exit=False)


def _build_logs(build: _Build, names: tuple[str, ...], resource: Any) -> Any:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor

    exporters = _exporters(build, "logs", names)
    if not exporters:
        return None
    processor = SimpleLogRecordProcessor if build.synchronous else BatchLogRecordProcessor
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    for exporter in exporters:
        provider.add_log_record_processor(processor(exporter))
    return provider


_BUILDERS: dict[str, Callable[[_Build, tuple[str, ...], Any], Any]] = {
    "traces": _build_traces,
    "metrics": _build_metrics,
    "logs": _build_logs,
}


def _exporters(build: _Build, signal: str, names: tuple[str, ...]) -> list[Any]:
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    exporters = []
    for name in dict.fromkeys(names):
        try:
            if name == "otlp":
                exporters.append(_otlp_exporter(build, signal))
            elif name == "console":
                exporters.append(_console_exporter(signal))
            else:
                exporter = _entry_point_exporter(signal, name)
                if exporter is None:
                    warn_bad_value(
                        variable, name, f"no {signal} exporter named {name!r} is installed", "none"
                    )
                else:
                    exporters.append(exporter)
        except Exception as error:
            record_internal_error(f"{signal} exporter {name!r}", error)
    return exporters


def _console_exporter(signal: str) -> Any:
    if signal == "traces":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if signal == "metrics":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter

    return ConsoleLogRecordExporter()


def _entry_point_exporter(signal: str, name: str) -> Any:
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=f"opentelemetry_{signal}_exporter"):
        if entry_point.name == name:
            return entry_point.load()()
    return None


def protocol_for(settings: Settings, signal: str) -> str:
    """The OTLP protocol for ``signal``: as set if installed, else whichever is installed."""
    per_signal = getattr(settings, f"otlp_{signal}_protocol")
    wanted: str | None = per_signal or settings.otlp_protocol
    installed = installed_protocols()
    if wanted is None:
        return installed[0] if installed else "http/protobuf"
    if wanted in installed or not installed:
        return wanted
    variable = (
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
        if per_signal
        else "OTEL_EXPORTER_OTLP_PROTOCOL"
    )
    extra = " (pip install 'threadcrash[grpc]')" if wanted == "grpc" else ""
    warn_bad_value(variable, wanted, f"its exporter is not installed{extra}", installed[0])
    return installed[0]


def _otlp_exporter(build: _Build, signal: str) -> Any:
    settings = build.settings
    protocol = protocol_for(settings, signal)

    def pick(name: str) -> Any:
        specific = getattr(settings, f"otlp_{signal}_{name}")
        return specific if specific is not None else getattr(settings, f"otlp_{name}")

    headers = dict(pick("headers") or ())
    timeout = pick("timeout")
    timeout = _DEFAULT_TIMEOUT if timeout is None else timeout
    if build.synchronous:  # three exports (span, log record, counter) within flush_timeout
        timeout = max(0.001, min(timeout, settings.flush_timeout / 3))
    compression = pick("compression") or "none"
    endpoint = getattr(settings, f"otlp_{signal}_endpoint")
    exporter: Any
    if protocol == "grpc":
        endpoint = endpoint or settings.otlp_endpoint
        exporter = _grpc_exporter(signal, endpoint, headers, timeout, compression)
        build.exporters.append((exporter, endpoint or _DEFAULT_GRPC_ENDPOINT))
        return exporter
    if endpoint is None:
        base = settings.otlp_endpoint or _DEFAULT_HTTP_ENDPOINT
        endpoint = f"{base.rstrip('/')}/v1/{signal}"
    from opentelemetry.exporter.otlp.proto.http import Compression

    arguments: dict[str, Any] = {
        "endpoint": endpoint,
        "headers": headers,
        "timeout": timeout,
        "compression": Compression(compression),
    }
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(**arguments)
    elif signal == "metrics":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(**arguments)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        exporter = OTLPLogExporter(**arguments)
    build.exporters.append((exporter, endpoint))
    return exporter


def _grpc_exporter(
    signal: str, endpoint: str | None, headers: dict[str, str], timeout: float, compression: str
) -> Any:
    import grpc  # type: ignore[import-untyped, import-not-found, unused-ignore]

    arguments: dict[str, Any] = {"headers": headers or None, "timeout": timeout}
    if endpoint is not None:
        arguments["endpoint"] = endpoint
    if compression != "none":
        arguments["compression"] = (
            grpc.Compression.Gzip if compression == "gzip" else grpc.Compression.Deflate
        )
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found, unused-ignore]
            OTLPSpanExporter,
        )

        return OTLPSpanExporter(**arguments)
    if signal == "metrics":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (  # type: ignore[import-not-found, unused-ignore]
            OTLPMetricExporter,
        )

        return OTLPMetricExporter(**arguments)
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (  # type: ignore[import-not-found, unused-ignore]
        OTLPLogExporter,
    )

    return OTLPLogExporter(**arguments)
