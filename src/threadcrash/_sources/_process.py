"""process: a ``multiprocessing.Process`` whose target raised, reported from the child itself.

multiprocessing catches the exception of ``run()`` in ``BaseProcess._bootstrap``, prints it, and
ends the child with ``os._exit`` (fork, forkserver) or ``sys.exit`` (spawn): no hook sees the
exception, and no atexit handler runs in a forked child, so whatever the child reported was
lost with it. The wrapper of ``_bootstrap`` runs in every child: it reports the target's
exception (FATAL: it ends the child) and, once ``_bootstrap`` is done, reports the failed
futures still alive and exports what this child reported, within ``flush_timeout``.

A ``spawn`` or ``forkserver`` child is a new interpreter: the parent hands it its settings in
the pickled process object, so the child instruments itself, configured like the parent
(with providers built from the environment), before ``_bootstrap`` runs.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .. import _compat, _imports, _parent
from .._internal import record_internal_error
from .._record import AttributeValue, ParentSpan
from .._reporter import Reporter
from ._future import hide_own_frame
from ._thread import thread_facts

NAME_ATTRIBUTE = "threadcrash.process.name"
CHILD = "_threadcrash_child"
PARENT = "_threadcrash_parent"

_lock = threading.Lock()
_source: ProcessSource | None = None
_patched: dict[str, tuple[Callable[..., Any], Any]] = {}
_PLAIN = (bool, int, float, str, type(None))


def _plain(value: object) -> bool:
    if isinstance(value, (_PLAIN, re.Pattern)):  # a compiled pattern pickles as its text
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(_plain(item) for item in value)
    return False


class ChildSetup:
    """Pickled with a process object; unpickling it in a new interpreter instruments it."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def __reduce__(self) -> tuple[Callable[..., None], tuple[dict[str, Any]]]:
        return _instrument_child, (self.options,)


def _instrument_child(options: dict[str, Any]) -> None:
    try:
        # runs in a spawned child before the target: instruments it
        import threadcrash  # noqa: PLC0415

        # runs in a spawned child before the target: instruments it
        from .._parse import import_callable  # noqa: PLC0415

        before_emit = options.pop("before_emit", None)
        if before_emit is not None:
            try:
                options["before_emit"] = import_callable(before_emit)
            except Exception:  # not importable in the child: reports go out unfiltered
                record_internal_error("before_emit in a child process", RuntimeError(before_emit))
        threadcrash.instrument(**options)
    except Exception as error:
        record_internal_error("instrumenting a child process", error)


def _child_options(reporter: Reporter) -> dict[str, Any]:
    """The parent's settings that a child can take as keywords: plain values only."""
    settings = reporter.settings
    options = {
        name: value
        for name, value in settings.keywords().items()
        if name not in ("disabled", "disabled_instrumentations") and _plain(value)
    }
    before_emit = settings.before_emit
    module = getattr(before_emit, "__module__", None)
    name = getattr(before_emit, "__qualname__", None)
    if isinstance(module, str) and isinstance(name, str) and "<" not in name:
        options["before_emit"] = f"{module}:{name}"  # imported again in the child
    return options


def _wrap_start(original: Callable[..., None]) -> Callable[..., None]:
    def start(self: Any) -> None:
        source = _source
        if source is not None:
            try:
                setattr(self, CHILD, ChildSetup(source.child_options))
                context = _parent.current_span_context() if source.capture_parent else None
                if context is not None:
                    setattr(self, PARENT, _parent.to_parent(context))
            except Exception as error:
                record_internal_error("process start", error)
        original(self)

    return start


def _wrap_bootstrap(original: Callable[..., int]) -> Callable[..., int]:
    def _bootstrap(self: Any, *args: Any, **kwargs: Any) -> int:
        if _source is not None:
            try:
                self.run = _reporting_run(self, self.run)
            except Exception as error:
                record_internal_error("process bootstrap", error)
        try:
            return original(self, *args, **kwargs)
        finally:
            source = _source
            if source is not None:
                source.at_child_end()

    return _bootstrap


def _reporting_run(process: Any, run: Callable[[], None]) -> Callable[[], None]:
    def reporting_run() -> None:
        try:
            run()
        except BaseException as exc:
            source = _source
            if source is not None:
                source.report(process, exc)
            hide_own_frame(exc, reporting_run.__code__)  # the child prints CPython's traceback
            del exc
            raise

    return reporting_run


class ProcessSource:
    """Wraps ``BaseProcess.start`` (parent) and ``BaseProcess._bootstrap`` (every child)."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self.capture_parent = reporter.settings.capture_parent
        self._keyboard_interrupt = reporter.settings.report_keyboard_interrupt
        self.child_options = _child_options(reporter)

    def install(self) -> None:
        global _source
        with _lock:
            _source = self
        # a program that never imports multiprocessing pays nothing
        _imports.when_imported("multiprocessing.process", self._patch)

    def _patch(self, module: ModuleType) -> None:
        with _lock:
            if _source is not self:
                return
            cls = module.BaseProcess
            wraps: tuple[tuple[str, Callable[[Any], Any]], ...] = (
                ("start", _wrap_start),
                ("_bootstrap", _wrap_bootstrap),
            )
            for name, wrap in wraps:
                if name in _patched:
                    continue  # ours is still in the chain
                original = vars(cls)[name]
                wrapper = wrap(original)
                wrapper.__qualname__ = original.__qualname__
                wrapper.__wrapped__ = original
                setattr(cls, name, wrapper)
                _patched[name] = (wrapper, original)

    def uninstall(self) -> None:
        global _source
        _imports.forget("multiprocessing.process", self._patch)
        with _lock:
            if _source is not self:
                return
            _source = None
            if not _patched:
                return
            cls = _compat.process_class()
            for name, (wrapper, original) in list(_patched.items()):
                if vars(cls).get(name) is wrapper:
                    setattr(cls, name, original)
                    del _patched[name]

    def report(self, process: Any, exc: BaseException) -> None:
        """Report the exception that ends this child: its target's."""
        try:
            if type(exc) is SystemExit:
                return  # its exit code says what happened
            if isinstance(exc, KeyboardInterrupt) and not self._keyboard_interrupt:
                return
            extra: dict[str, AttributeValue] = {}
            name = getattr(process, "name", None)
            if type(name) is str:
                extra[NAME_ATTRIBUTE] = name
            parent = getattr(process, PARENT, None)
            self._reporter.report(
                type(exc),
                exc,
                exc.__traceback__,
                source="process",
                thread=thread_facts(None),
                parent=parent if isinstance(parent, ParentSpan) else None,
                fatal=True,
                extra=extra,
            )
        except Exception as error:
            record_internal_error("process", error)

    def at_child_end(self) -> None:
        """The child is about to end, perhaps by ``os._exit``: export what it reported."""
        try:
            from .. import _lifecycle  # which imports the sources: looked up only here  # noqa: PLC0415

            _lifecycle.finish()  # unretrieved futures, what storm control held back
            if self._reporter.last_pid == os.getpid():
                self._reporter.flush()
        except Exception as error:
            record_internal_error("process end", error)
