"""Auto-configuration: the SDK providers that ``instrument()`` builds from ``OTEL_*`` when asked.

Per signal (traces, metrics, logs), in this order:

1. a provider passed to ``instrument()`` is used as it is;
2. a global provider the application (or ``opentelemetry-instrument``) already set is used;
3. else, if the settings ask for export (``OTEL_<SIGNAL>_EXPORTER``, or an OTLP endpoint for
   the signal), threadcrash builds an SDK provider with batch processing, the resource from
   ``OTEL_SERVICE_NAME``/``OTEL_RESOURCE_ATTRIBUTES``, and makes it global;
4. else nothing: no provider, no exporter, no network connection.

The providers built here are owned here: flushed and shut down at exit, or by
``uninstrument()``, each time with a wait bounded by ``flush_timeout``.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import _logs, metrics, trace

from . import _flush
from ._internal import record_internal_error
from ._settings import Settings, warn_bad_value

SIGNALS = ("traces", "metrics", "logs")

_HTTP = "opentelemetry.exporter.otlp.proto.http"
_GRPC = "opentelemetry.exporter.otlp.proto.grpc"
_DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
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
    _exit_hook: Callable[[], None] | None = None

    def shutdown(self, timeout: float) -> bool:
        """Flush and shut down what was built here, waiting at most ``timeout`` seconds."""
        built, self.built = self.built, []
        if self._exit_hook is not None:
            atexit.unregister(self._exit_hook)
            self._exit_hook = None
        if not built:
            return True
        with _retired_lock:
            _retired.extend(self.registered)
        self.registered = []
        return _flush.call_bounded([provider.shutdown for provider in built], timeout, "shutdown")


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
) -> Providers:
    """Decide, per signal, which provider the emitters use; build and register where asked."""
    result = Providers(tracer_provider, meter_provider, logger_provider)
    resource: Any = None
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
            provider = _BUILDERS[signal](settings, names, resource)
        except Exception as error:
            record_internal_error(f"auto-configuration of {signal}", error)
            continue
        if provider is None:
            continue
        result.built.append(provider)
        setattr(result, attribute, provider)
        if not _global_is_set(signal):
            _SETTERS[signal](provider)
            result.registered.append(provider)
    if result.built:
        result._exit_hook = _exit_hook_for(result, settings.flush_timeout)
        atexit.register(result._exit_hook)
    return result


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


def _exit_hook_for(providers: Providers, timeout: float) -> Callable[[], None]:
    def at_exit() -> None:
        try:
            providers.shutdown(timeout)
        except Exception as error:
            record_internal_error("shutdown at exit", error)

    return at_exit


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


def _build_traces(settings: Settings, names: tuple[str, ...], resource: Any) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporters = _exporters(settings, "traces", names)
    if not exporters:
        return None
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _build_metrics(settings: Settings, names: tuple[str, ...], resource: Any) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader

    readers = [
        exporter if isinstance(exporter, MetricReader) else PeriodicExportingMetricReader(exporter)
        for exporter in _exporters(settings, "metrics", names)
    ]
    if not readers:
        return None
    return MeterProvider(metric_readers=readers, resource=resource, shutdown_on_exit=False)


def _build_logs(settings: Settings, names: tuple[str, ...], resource: Any) -> Any:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    exporters = _exporters(settings, "logs", names)
    if not exporters:
        return None
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    for exporter in exporters:
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    return provider


_BUILDERS: dict[str, Callable[[Settings, tuple[str, ...], Any], Any]] = {
    "traces": _build_traces,
    "metrics": _build_metrics,
    "logs": _build_logs,
}


def _exporters(settings: Settings, signal: str, names: tuple[str, ...]) -> list[Any]:
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    exporters = []
    for name in dict.fromkeys(names):
        try:
            if name == "otlp":
                exporters.append(_otlp_exporter(settings, signal))
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


def _otlp_exporter(settings: Settings, signal: str) -> Any:
    protocol = protocol_for(settings, signal)

    def pick(name: str) -> Any:
        specific = getattr(settings, f"otlp_{signal}_{name}")
        return specific if specific is not None else getattr(settings, f"otlp_{name}")

    headers = dict(pick("headers") or ())
    timeout = pick("timeout")
    timeout = _DEFAULT_TIMEOUT if timeout is None else timeout
    compression = pick("compression") or "none"
    endpoint = getattr(settings, f"otlp_{signal}_endpoint")
    if protocol == "grpc":
        endpoint = endpoint or settings.otlp_endpoint
        return _grpc_exporter(signal, endpoint, headers, timeout, compression)
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

        return OTLPSpanExporter(**arguments)
    if signal == "metrics":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter(**arguments)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    return OTLPLogExporter(**arguments)


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
