"""Living with the rest of OpenTelemetry: one crash gives one report of each kind on the wire.

Three other components would report a crash a second time:

- ``opentelemetry-instrumentation-exceptions`` (installed by ``opentelemetry-bootstrap``) wraps
  the same hooks and emits its own log record per crash. While threadcrash is installed, that
  instrumentor's emission is skipped for the hooks threadcrash reports (its other hooks keep
  working); ``uninstrument()`` gives it back.
- the structlog bridge (``opentelemetry-instrumentation-structlog``'s processor) would turn our
  structlog event into a second OpenTelemetry log record: our own event goes through the
  configured processor chain without that one processor.
- the logging bridge (an OpenTelemetry ``LoggingHandler``, from the SDK or
  ``opentelemetry-instrumentation-logging``) would do the same when structlog renders through
  the standard library: such handlers get a filter that drops only the records our structlog
  event produces, on the thread that emits it, while it emits it.

Everything else the application logs passes through untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import _compat, _imports
from ._internal import record_internal_error

if TYPE_CHECKING:
    import logging

_lock = threading.Lock()
_claimed: frozenset[str] = frozenset()
_patched: tuple[type, Any, Any] | None = None  # (class, original, ours)
_filtered_handlers: list[logging.Handler] = []
_local = threading.local()


def install(sources: set[str] | frozenset[str]) -> None:
    """Step in front of the components that would duplicate the reports of ``sources``."""
    global _claimed
    with _lock:
        _claimed = frozenset(sources)
    # not imported by us: an application that uses that instrumentor imports it itself
    _imports.when_imported(_compat.EXCEPTIONS_MODULE, _claim_exceptions_instrumentor)


def uninstall() -> None:
    """Give back everything :func:`install` and the emissions since took."""
    global _claimed, _patched
    _imports.forget(_compat.EXCEPTIONS_MODULE, _claim_exceptions_instrumentor)
    with _lock:
        _claimed = frozenset()
        if _patched is not None:
            cls, original, ours = _patched
            _patched = None
            if cls.__dict__.get(_compat.EXCEPTIONS_EMIT) is ours:
                setattr(cls, _compat.EXCEPTIONS_EMIT, original)
        for handler in _filtered_handlers:
            handler.removeFilter(_BRIDGE_FILTER)
        _filtered_handlers.clear()


# opentelemetry-instrumentation-exceptions


def _claim_exceptions_instrumentor(module: ModuleType) -> None:
    try:
        with _lock:
            _claim(module)
    except Exception as error:
        record_internal_error("stepping around opentelemetry-instrumentation-exceptions", error)


def _claim(module: ModuleType) -> None:
    global _patched
    if _patched is not None:
        return
    cls = getattr(module, _compat.EXCEPTIONS_INSTRUMENTOR, None)
    original = None if cls is None else cls.__dict__.get(_compat.EXCEPTIONS_EMIT)
    if cls is None or not callable(original):
        return  # a version we do not know: see the README for the one-line remedy

    def _emit_exception(self: Any, exc: BaseException, **kwargs: Any) -> Any:
        """Skip the crashes threadcrash reports itself (threadcrash's ``_coexist``)."""
        if _compat.EXCEPTIONS_WRAPPERS.get(_compat.caller_name(1)) in _claimed:
            return None
        return original(self, exc, **kwargs)

    setattr(cls, _compat.EXCEPTIONS_EMIT, _emit_exception)
    _patched = (cls, original, _emit_exception)


# the structlog bridge


def _is_structlog_bridge(processor: object) -> bool:
    kind = type(processor)
    return kind.__name__ == "StructlogProcessor" and kind.__module__.startswith(
        "opentelemetry.instrumentation.structlog"
    )


def structlog_logger(default: Any) -> Any:
    """``default`` (our ``threadcrash`` logger), or one whose chain leaves the OTel bridge out."""
    import structlog  # only called once the application's structlog is in use  # noqa: PLC0415

    processors = structlog.get_config()["processors"]
    kept = [processor for processor in processors if not _is_structlog_bridge(processor)]
    if len(kept) == len(processors):
        return default
    return structlog.wrap_logger(None, processors=kept, logger_factory_args=("threadcrash",))


# the logging bridge


class _BridgeFilter:
    """Drops the records our own structlog event produces; passes everything else.

    A handler takes any object with this ``filter`` method: ``logging`` is imported by the
    application that has such handlers, not by threadcrash at start-up.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_local, "emitting", False)


_BRIDGE_FILTER = _BridgeFilter()


def _is_logging_bridge(handler: logging.Handler) -> bool:
    kind = type(handler)
    return kind.__name__ == "LoggingHandler" and kind.__module__.startswith("opentelemetry.")


def _filter_logging_bridges() -> None:
    import logging  # start-up: not at instrument(); by our first event structlog imported it  # noqa: PLC0415

    logger: logging.Logger | None = logging.getLogger("threadcrash")
    while logger is not None:
        for handler in logger.handlers:
            if _is_logging_bridge(handler) and _BRIDGE_FILTER not in handler.filters:
                with _lock:
                    handler.addFilter(_BRIDGE_FILTER)
                    _filtered_handlers.append(handler)
        logger = logger.parent if logger.propagate else None


@contextmanager
def our_structlog_event() -> Iterator[None]:
    """Around our structlog call: records it makes on this thread stay out of the bridges."""
    _filter_logging_bridges()
    outer = getattr(_local, "emitting", False)
    _local.emitting = True
    try:
        yield
    finally:
        _local.emitting = outer
