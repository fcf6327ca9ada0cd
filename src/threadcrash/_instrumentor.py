"""``ThreadCrashInstrumentor``: threadcrash as an OpenTelemetry instrumentor.

Imported only when first used (``threadcrash.ThreadCrashInstrumentor``, or the entry point that
``opentelemetry-instrument`` loads): OpenTelemetry's instrumentation base costs more to import
than the rest of threadcrash together, and ``threadcrash.instrument()`` does not need it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from . import _api, _lifecycle


class ThreadCrashInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor (entry point ``threadcrash``) for uncaught exceptions.

    ``ThreadCrashInstrumentor().instrument(tracer_provider=..., meter_provider=...,
    logger_provider=..., **options)`` is the same as :func:`threadcrash.instrument`, and both
    share one on/off state: the instrumentor reports instrumented exactly while threadcrash is.
    """

    @property
    def _is_instrumented_by_opentelemetry(self) -> bool:
        return _lifecycle.current() is not None

    @_is_instrumented_by_opentelemetry.setter
    def _is_instrumented_by_opentelemetry(self, value: bool) -> None:
        """Ignored: the lifecycle module is the one source of truth."""

    def instrumentation_dependencies(self) -> Collection[str]:
        """No third-party library is instrumented: only the interpreter's hooks."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        _api.instrument(**kwargs)  # a misspelled keyword is a TypeError here too

    def _uninstrument(self, **kwargs: Any) -> None:
        _api.uninstrument()
