"""Remember, at ``Thread.start``, the span that was current: the crash span's parent.

No span can be current in a program that never imported the OpenTelemetry API, so the API is
looked up only once the program has imported it (``opentelemetry.trace`` in ``sys.modules``):
``instrument()`` imports no OpenTelemetry of its own.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from . import _compat
from ._record import ParentSpan

ATTRIBUTE = "_threadcrash_parent"

_get_current: Callable[[], Any] | None = None  # the API's context.get_current, once imported
_span_key: str | None = None
_original_start: Callable[[threading.Thread], None] | None = None
_active = False


def _resolve() -> Callable[[], Any] | None:
    """The API's ``get_current``, once the application has imported the API; else None."""
    global _get_current, _span_key
    if "opentelemetry.trace" not in sys.modules:
        return None
    from opentelemetry import context as otel_context  # start-up: see the docstring  # noqa: PLC0415

    _span_key = _compat.span_key()
    _get_current = otel_context.get_current
    return _get_current


def _current_span(get_current: Callable[[], Any]) -> Any:  # pragma: no cover - old API only
    from opentelemetry import trace  # start-up: the API is imported only once the program has  # noqa: PLC0415

    return trace.get_current_span(get_current())


def _start(self: threading.Thread) -> None:
    original = _original_start  # read once: uninstall() on another thread may clear it
    if _active:
        try:
            context = current_span_context()
            if context is not None:
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
        otel_context = getattr(thread, _compat.THREADING_CONTEXT, None)
        if otel_context is None:
            return None
        from opentelemetry import trace  # start-up: the program has imported it (a context is set)  # noqa: PLC0415

        context = trace.get_current_span(otel_context).get_span_context()
    if not context.is_valid:
        return None
    return to_parent(context)


def current_span_context() -> Any:
    """The current span's context if it is valid, else None; cheap enough for every start.

    None while the program has not imported the OpenTelemetry API: no span can be current.
    """
    get_current = _get_current or _resolve()
    if get_current is None:
        return None
    span: Any = (
        get_current().get(_span_key) if _span_key is not None else _current_span(get_current)
    )
    if span is None:
        return None
    context = span.get_span_context()
    return context if context.is_valid else None


def parent_in(otel_context: Any) -> ParentSpan | None:
    """The span current in an OpenTelemetry ``Context`` taken earlier, as a record's parent."""
    if (_get_current or _resolve()) is None:
        return None
    if _span_key is not None:
        span = otel_context.get(_span_key)
    else:  # pragma: no cover - old API only
        from opentelemetry import trace  # start-up: the API is imported (see _resolve)  # noqa: PLC0415

        span = trace.get_current_span(otel_context)
    if span is None:
        return None
    context = span.get_span_context()
    return to_parent(context) if context.is_valid else None


def to_parent(context: Any) -> ParentSpan:
    """A span context as the plain integers of a record's parent."""
    return ParentSpan(
        context.trace_id, context.span_id, int(context.trace_flags), bool(context.is_remote)
    )
