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

The imports inside functions are a measured start-up choice (``benchmarks/bench_lazy.py``): a
first crash imports only the SDK parts and exporters it builds; gRPC is an optional extra.
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

from . import _compat, _flush, _reach
from ._errors import warn_bad_value
from ._export_settings import SIGNALS
from ._internal import record_internal_error
from ._settings import Settings

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
class Built:
    """An exporter threadcrash built, for a signal; ``endpoint`` None: not OTLP (never probed)."""

    signal: str
    exporter: Any
    endpoint: str | None


@dataclass
class Providers:
    """The providers an installation sends to (None: the global one) and those it built."""

    tracer_provider: Any = None
    meter_provider: Any = None
    logger_provider: Any = None
    built: list[Any] = field(default_factory=list)
    registered: list[Any] = field(default_factory=list)  # those made global
    synchronous: bool = False  # built when no thread could start: every export already done
    exporters: list[Built] = field(default_factory=list)
    worker: Any = None  # the on-demand export thread of what was built (not synchronous)

    def shutdown(self, timeout: float, *, at_exit: bool = False) -> bool:
        """Flush and shut down what was built here, waiting at most ``timeout`` seconds.

        A collector that refuses connections costs a probe, not ``timeout``: its exporters are
        shut down first, so nothing is retried; at exit, a provider whose every exporter was
        refused is left to end with the process instead of failing its last export.
        """
        built, self.built = self.built, []
        if not built:
            return True
        with _retired_lock:
            _retired.extend(self.registered)
        self.registered = []
        if self.synchronous:
            return True  # closed after each report: nothing is left to send
        deadline = time.monotonic() + timeout
        dead = self.abandon_refused(timeout)
        if self.worker is not None:  # the last reports and the counter go first
            self.worker.drain(max(0.0, deadline - time.monotonic()))
        if at_exit:
            gone = [getattr(self, _PROVIDER_ATTRIBUTE[signal]) for signal in dead]
            built = [provider for provider in built if not any(provider is p for p in gone)]
        remaining = max(0.0, deadline - time.monotonic())
        return _flush.call_bounded([provider.shutdown for provider in built], remaining, "shutdown")

    def abandon_refused(self, timeout: float) -> set[str]:
        """Shut down the exporters whose collector refuses connections.

        Returns the signals none of whose exporters is left.
        """
        refused = _reach.refused(
            {item.endpoint for item in self.exporters if item.endpoint}, timeout
        )
        if not refused:
            return set()
        kept = []
        for item in self.exporters:
            if item.endpoint not in refused:
                kept.append(item)
                continue
            try:
                item.exporter.shutdown()  # also ends a retry's back-off wait in the export thread
            except Exception as error:
                record_internal_error("exporter shutdown", error)
        self.exporters = kept
        left = {item.signal for item in kept}
        return {signal for signal in SIGNALS if signal not in left}

    def export_counter(self) -> None:
        """After a report: the counter of the meter provider built here goes out (once queued)."""
        if self.worker is not None and any(p is self.meter_provider for p in self.built):
            self.worker.submit(self.meter_provider.force_flush, key="metrics")

    def refused(self, timeout: float) -> bool:
        """True when a collector of the exporters built here refuses connections."""
        endpoints = {item.endpoint for item in self.exporters if item.endpoint}
        return bool(_reach.refused(endpoints, timeout))

    def close_synchronously(self) -> None:
        """Synchronous providers, after a report: export the counter and close, in this thread.

        Spans and log records went out as they ended; the reader, with no thread of its own,
        exports the counter when flushed. Nothing is left open for the interpreter's last moments
        to trip over.
        """
        built, self.built = self.built, []
        for provider in built:
            try:
                if provider is self.meter_provider:
                    provider.force_flush()
                provider.shutdown()
            except Exception as error:
                record_internal_error("shutdown", error)


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
    wanted = {}
    for signal in SIGNALS:
        attribute = _PROVIDER_ATTRIBUTE[signal]
        if getattr(result, attribute) is not None or _global_is_set(signal):
            continue
        names = exporters_asked(settings, signal)
        if names:
            wanted[signal] = names
    if synchronous:  # each export would block the crashing thread: skip a refusing collector
        endpoints = {signal: otlp_endpoint(settings, signal)[1] for signal in wanted}
        refused = _reach.refused(set(endpoints.values()), settings.flush_timeout / 3)
        wanted = {
            signal: names
            for signal, names in wanted.items()
            if names != ("otlp",) or endpoints[signal] not in refused
        }
    for signal, names in wanted.items():
        attribute = _PROVIDER_ATTRIBUTE[signal]
        try:
            if resource is None:
                resource = _resource(settings, synchronous)
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
    result.worker = build.worker
    return result


@dataclass
class _Build:
    """How to build: the settings, whether synchronous, where the OTLP exporters are noted."""

    settings: Settings
    synchronous: bool
    exporters: list[Built]
    worker: Any = None

    def export_thread(self) -> Any:
        """The on-demand export thread all built providers share (made at first use)."""
        if self.worker is None:
            from ._worker import Worker  # lazy: loads the SDK's logs and traces (start-up)  # noqa: PLC0415

            self.worker = Worker()
        return self.worker


def exporters_asked(settings: Settings, signal: str) -> tuple[str, ...]:
    """Return the exporter names for ``signal``.

    The ``OTEL_<SIGNAL>_EXPORTER`` list if set, else ``otlp`` when an OTLP endpoint (general or
    for the signal) is set, else none.
    """
    export = settings.export(signal)
    if export.exporter is not None:
        return export.exporter
    return ("otlp",) if export.endpoint else ()


# which providers are set


def _global_is_set(signal: str) -> bool:
    if signal == "traces":
        provider: Any = trace.get_tracer_provider()
        unset = isinstance(provider, trace.ProxyTracerProvider)
    elif signal == "metrics":
        provider = metrics.get_meter_provider()
        unset = _compat.is_proxy_meter_provider(provider)
    else:
        provider = _logs.get_logger_provider()
        unset = _compat.is_proxy_logger_provider(provider)
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


def _resource(settings: Settings, synchronous: bool = False) -> Any:
    # lazy, here and below: only what a first crash builds is imported (measured start-up choice)
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415

    attributes: dict[str, Any] = dict(settings.resource_attributes)
    if settings.service_name is not None:
        attributes["service.name"] = settings.service_name
    if not synchronous:
        return Resource.create(attributes)
    # Resource.create runs its detectors in a thread pool: what it gives, without the detectors
    from opentelemetry.sdk.version import __version__ as sdk_version  # noqa: PLC0415

    return Resource(
        {
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": sdk_version,
            "service.name": "unknown_service",
            **attributes,
        }
    )


def _build_traces(build: _Build, names: tuple[str, ...], resource: Any) -> Any:
    # start-up: only the SDK parts and exporters a signal asks for, at the first crash
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415

    # start-up: only the SDK parts and exporters a signal asks for, at the first crash
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415

    exporters = _exporters(build, "traces", names)
    if not exporters:
        return None
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    for exporter in exporters:
        if build.synchronous:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            # start-up: only the SDK parts and exporters a signal asks for, at the first crash
            from ._worker import DeferredSpanProcessor  # noqa: PLC0415

            provider.add_span_processor(DeferredSpanProcessor(exporter, build.export_thread()))
    return provider


def _build_metrics(build: _Build, names: tuple[str, ...], resource: Any) -> Any:
    # start-up: only the SDK parts and exporters a signal asks for, at the first crash
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415

    # start-up: only the SDK parts and exporters a signal asks for, at the first crash
    from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader  # noqa: PLC0415

    # an infinite interval: the reader starts no thread and exports when flushed, after each
    # report (in the export thread, or at once when synchronous)
    readers = [
        exporter
        if isinstance(exporter, MetricReader)
        else PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)
        for exporter in _exporters(build, "metrics", names)
    ]
    if not readers:
        return None
    return MeterProvider(metric_readers=readers, resource=resource, shutdown_on_exit=False)


def _build_logs(build: _Build, names: tuple[str, ...], resource: Any) -> Any:
    if build.synchronous:  # the SDK's logs module builds a resource (in a thread pool) at import
        # start-up: only the SDK parts and exporters a signal asks for, at the first crash
        from ._compat import import_thread_pool  # noqa: PLC0415

        import_thread_pool()
    # start-up: only the SDK parts and exporters a signal asks for, at the first crash
    from opentelemetry.sdk._logs import LoggerProvider  # noqa: PLC0415

    # start-up: only the SDK parts and exporters a signal asks for, at the first crash
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor  # noqa: PLC0415

    exporters = _exporters(build, "logs", names)
    if not exporters:
        return None
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    for exporter in exporters:
        if build.synchronous:
            provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        else:
            # start-up: only the SDK parts and exporters a signal asks for, at the first crash
            from ._worker import DeferredLogRecordProcessor  # noqa: PLC0415

            worker = build.export_thread()
            provider.add_log_record_processor(DeferredLogRecordProcessor(exporter, worker))
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
                exporter = _otlp_exporter(build, signal)
                build.exporters.append(
                    Built(signal, exporter, otlp_endpoint(build.settings, signal)[1])
                )
                exporters.append(exporter)
            elif name == "console":
                exporters.append(_console_exporter(signal))
                build.exporters.append(Built(signal, exporters[-1], None))
            else:
                exporter = _entry_point_exporter(signal, name)
                if exporter is None:
                    warn_bad_value(
                        variable, name, f"no {signal} exporter named {name!r} is installed", "none"
                    )
                else:
                    exporters.append(exporter)
                    build.exporters.append(Built(signal, exporter, None))
        except Exception as error:
            record_internal_error(f"{signal} exporter {name!r}", error)
    return exporters


def _console_exporter(signal: str) -> Any:
    if signal == "traces":
        # start-up: only the SDK parts and exporters a signal asks for, at the first crash
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # noqa: PLC0415

        return ConsoleSpanExporter()
    if signal == "metrics":
        # start-up: only the SDK parts and exporters a signal asks for, at the first crash
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter  # noqa: PLC0415

        return ConsoleMetricExporter()
    # start-up: only the SDK parts and exporters a signal asks for, at the first crash
    from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter  # noqa: PLC0415

    return ConsoleLogRecordExporter()


def _entry_point_exporter(signal: str, name: str) -> Any:
    from importlib.metadata import entry_points  # lazy: scanning metadata is slow, rarely asked  # noqa: PLC0415

    for entry_point in entry_points(group=f"opentelemetry_{signal}_exporter"):
        if entry_point.name == name:
            return entry_point.load()()
    return None


def protocol_for(settings: Settings, signal: str) -> str:
    """The OTLP protocol for ``signal``: as set if installed, else whichever is installed."""
    export = settings.export(signal)
    wanted = export.protocol
    installed = installed_protocols()
    if wanted is None:
        return installed[0] if installed else "http/protobuf"
    if wanted in installed or not installed:
        return wanted
    variable = export.protocol_variable
    extra = " (pip install 'threadcrash[grpc]')" if wanted == "grpc" else ""
    warn_bad_value(variable, wanted, f"its exporter is not installed{extra}", installed[0])
    return installed[0]


def otlp_endpoint(settings: Settings, signal: str) -> tuple[str, str]:
    """The OTLP protocol and endpoint for ``signal`` (gRPC's default, or the full HTTP URL)."""
    protocol = protocol_for(settings, signal)
    export = settings.export(signal)
    if protocol == "grpc":
        return protocol, export.endpoint or _DEFAULT_GRPC_ENDPOINT
    endpoint = export.otlp.endpoint
    if endpoint is None:
        base = export.general.endpoint or _DEFAULT_HTTP_ENDPOINT
        endpoint = f"{base.rstrip('/')}/v1/{signal}"
    return protocol, endpoint


def _otlp_exporter(build: _Build, signal: str) -> Any:
    settings = build.settings
    export = settings.export(signal)
    headers = dict(export.headers)
    timeout = _DEFAULT_TIMEOUT if export.timeout is None else export.timeout
    if build.synchronous:  # three exports (span, log record, counter) within flush_timeout
        timeout = max(0.001, min(timeout, settings.flush_timeout / 3))
    compression = export.compression
    protocol, endpoint = otlp_endpoint(settings, signal)
    if protocol == "grpc":
        return _grpc_exporter(signal, export.endpoint, headers, timeout, compression)
    # start-up: only the SDK parts and exporters a signal asks for, at the first crash
    from opentelemetry.exporter.otlp.proto.http import Compression  # noqa: PLC0415

    arguments: dict[str, Any] = {
        "endpoint": endpoint,
        "headers": headers,
        "timeout": timeout,
        "compression": Compression(compression),
    }
    if signal == "traces":
        # start-up: only the SDK parts and exporters a signal asks for, at the first crash
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        return OTLPSpanExporter(**arguments)
    if signal == "metrics":
        # start-up: only the SDK parts and exporters a signal asks for, at the first crash
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter  # noqa: PLC0415

        return OTLPMetricExporter(**arguments)
    # start-up: only the SDK parts and exporters a signal asks for, at the first crash
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # noqa: PLC0415

    return OTLPLogExporter(**arguments)


def _grpc_exporter(
    signal: str, endpoint: str | None, headers: dict[str, str], timeout: float, compression: str
) -> Any:
    # optional (the grpc extra): imported only when gRPC is asked for
    import grpc  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: PLC0415

    arguments: dict[str, Any] = {"headers": headers or None, "timeout": timeout}
    if endpoint is not None:
        arguments["endpoint"] = endpoint
    if compression != "none":
        arguments["compression"] = (
            grpc.Compression.Gzip if compression == "gzip" else grpc.Compression.Deflate
        )
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return OTLPSpanExporter(**arguments)
    if signal == "metrics":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
            OTLPMetricExporter,
        )

        return OTLPMetricExporter(**arguments)
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
        OTLPLogExporter,
    )

    return OTLPLogExporter(**arguments)
