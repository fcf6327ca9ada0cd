"""The public entry points: ``instrument()``, ``uninstrument()`` and the OTel instrumentor."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from . import _lifecycle


class ThreadCrashInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor (entry point ``threadcrash``) for uncaught exceptions.

    ``ThreadCrashInstrumentor().instrument(tracer_provider=..., meter_provider=...,
    logger_provider=..., **options)`` is the same as :func:`threadcrash.instrument`.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        """No third-party library is instrumented: only the interpreter's hooks."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        _lifecycle.install(**kwargs)

    def _uninstrument(self, **kwargs: Any) -> None:
        _lifecycle.uninstall()


def instrument(**kwargs: Any) -> None:
    """Report every uncaught exception; idempotent (one crash, one report, however often called).

    Keyword arguments: ``tracer_provider``, ``meter_provider``, ``logger_provider`` (else the
    global ones, or, where none is set and ``OTEL_*`` asks for export, SDK providers built from
    the environment) and any setting of the settings table, e.g. ``chain=False``.
    """
    instrumentor = ThreadCrashInstrumentor()
    with _lifecycle._lock:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(skip_dep_check=True, **kwargs)


def uninstrument() -> None:
    """Exact mirror of :func:`instrument`; hooks replaced by someone else since are left inert."""
    instrumentor = ThreadCrashInstrumentor()
    with _lifecycle._lock:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
