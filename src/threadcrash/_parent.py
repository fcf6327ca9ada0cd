"""Remember, at ``Thread.start``, the span that was current: the crash span's parent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from ._record import ParentSpan

_SPAN_KEY: str | None
try:
    # The key under which the API keeps the current span. Reading it directly skips
    # get_current_span()'s ABC isinstance check, which alone made a thread start ~3% slower.
    from opentelemetry.trace.propagation import _SPAN_KEY
except ImportError:  # pragma: no cover - an API without it: the public path
    _SPAN_KEY = None

ATTRIBUTE = "_threadcrash_parent"
_OTEL_THREADING_ATTRIBUTE = "_otel_context"  # set by opentelemetry-instrumentation-threading

_get_current = otel_context.get_current
_original_start: Callable[[threading.Thread], None] | None = None
_active = False


def _start(self: threading.Thread) -> None:
    original = _original_start  # read once: uninstall() on another thread may clear it
    if _active:
        try:
            span: Any = (
                trace.get_current_span() if _SPAN_KEY is None else _get_current().get(_SPAN_KEY)
            )
            if span is not None:
                context = span.get_span_context()
                if context.is_valid:
                    setattr(self, ATTRIBUTE, context)
        except Exception:
            pass
    # None: uninstalled meanwhile, and the original was put back
    (original or threading.Thread.start)(self)


def install() -> None:
    """Wrap ``Thread.start``; idempotent, and never wraps twice if another wrapper came after us."""
    global _original_start, _active
    _active = True
    if _original_start is None:
        _original_start = threading.Thread.start
        threading.Thread.start = _start  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore ``Thread.start`` if ours is still the installed one, else leave ours inert."""
    global _original_start, _active
    _active = False
    if threading.Thread.start is _start and _original_start is not None:
        threading.Thread.start = _original_start  # type: ignore[method-assign,assignment]
        _original_start = None


def parent_of(thread: threading.Thread | None) -> ParentSpan | None:
    """The parent recorded for ``thread``, as plain integers; None when unknown."""
    if thread is None:
        return None
    context: Any = getattr(thread, ATTRIBUTE, None)
    if context is None:
        otel_context = getattr(thread, _OTEL_THREADING_ATTRIBUTE, None)
        if otel_context is None:
            return None
        context = trace.get_current_span(otel_context).get_span_context()
    if not context.is_valid:
        return None
    return ParentSpan(
        context.trace_id, context.span_id, int(context.trace_flags), bool(context.is_remote)
    )
