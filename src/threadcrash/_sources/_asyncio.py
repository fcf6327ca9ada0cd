"""asyncio: exceptions that reach an event loop's exception handler, on any loop class.

Every path to a loop's handler ("Task exception was never retrieved", a failing callback,
uvloop's own errors) goes through ``loop.call_exception_handler(context)``, looked up on the
loop's class. So each concrete subclass of ``asyncio.AbstractEventLoop`` gets a wrapper of that
method: the standard loops through ``BaseEventLoop``, uvloop through ``uvloop.Loop`` (its base is
an extension type that cannot be patched, its Python subclass can). Classes defined later, such as
uvloop imported after ``instrument()``, are caught by ``AbstractEventLoop.__init_subclass__``.
The wrapper reports, then calls the original, which calls the application's handler if one was
set or else the default handler, exactly as before.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from .. import _compat, _format, _parent
from .._internal import record_internal_error
from .._record import AttributeValue, ParentSpan
from .._reporter import Reporter
from ._future import origin_of
from ._thread import thread_facts

MESSAGE_ATTRIBUTE = "threadcrash.asyncio.message"
TASK_ATTRIBUTE = "threadcrash.asyncio.task"
SHIELD_NOISE = " exception in shielded future"
_METHOD = "call_exception_handler"
_MAX_TEXT = 256
_BASE = asyncio.AbstractEventLoop

_lock = threading.Lock()
_handling = threading.local()
_source: AsyncioSource | None = None
# class -> the attribute it had in its own __dict__ before (None: it inherited the method)
_patched: dict[type, Any] = {}
_wrappers: set[Callable[..., Any]] = set()
_init_subclass: Any = None


def _report(context: object) -> None:
    source = _source
    if source is None or not isinstance(context, dict):
        return
    exc = context.get("exception")
    if isinstance(exc, BaseException) and not _is_shield_noise(context):
        source.report(exc, context)


def _is_shield_noise(context: dict[str, Any]) -> bool:
    """3.14's ``shield()``, once cancelled, hands over the inner future's exception anyway.

    The caller may well retrieve and handle it (CPython issue #156321), so it is not a crash.
    The loop's own handler still gets it, as before.
    """
    message = context.get("message")
    return type(message) is str and message.endswith(SHIELD_NOISE)


def _call(method: Any, loop: Any, context: dict[str, Any]) -> Any:
    """Call the wrapped class attribute as the loop's lookup would have: bound if it binds.

    A function binds to the loop; a ``staticmethod`` or a callable object does not.
    """
    bind = getattr(type(method), "__get__", None)
    return (method if bind is None else bind(method, loop, type(loop)))(context)


def _wrap(original: Any) -> Callable[..., Any]:
    def call_exception_handler(self: Any, context: dict[str, Any]) -> Any:
        # nested wrappers (a subclass that overrides and calls super()) see one context once
        handling: set[int] = _handling.__dict__.setdefault("contexts", set())
        key = id(context)
        if key in handling:
            return _call(original, self, context)
        handling.add(key)
        try:
            try:
                _report(context)
            except BaseException as error:  # nothing escapes, KeyboardInterrupt included
                record_internal_error("asyncio exception handler", error)
            return _call(original, self, context)
        finally:
            handling.discard(key)

    call_exception_handler.__wrapped__ = original  # type: ignore[attr-defined]
    call_exception_handler.__qualname__ = getattr(original, "__qualname__", _METHOD)
    _wrappers.add(call_exception_handler)
    return call_exception_handler


def _owner(cls: type) -> type | None:
    for klass in cls.__mro__:
        if _METHOD in vars(klass):
            return klass
    return None


def _ours(method: object) -> bool:
    """One of our wrappers; by identity, so a method that cannot be hashed is simply not ours."""
    return any(method is wrapper for wrapper in _wrappers)


def _patch(cls: type) -> None:
    """Wrap ``cls``'s method unless it is, or inherits, one of our wrappers.

    A class whose wrapper was replaced since (another library wrapping ours, or someone putting
    the original back) is wrapped again: nested wrappers report a context once. A class whose
    method cannot be read (a descriptor that raises) is left alone: an internal error, never
    an exception in ``instrument()`` or in the program's class statement.
    """
    try:
        _wrap_class(cls)
    except Exception as error:
        record_internal_error("asyncio loop class", error)


def _wrap_class(cls: type) -> None:
    if cls is _BASE:
        return
    own = vars(cls).get(_METHOD)
    if own is not None and _ours(own):
        return
    owner = _owner(cls)
    if owner is None or owner is _BASE or _ours(vars(owner)[_METHOD]):
        return
    getattr(cls, _METHOD)  # one that cannot be read is left alone (``_patch`` records why)
    try:
        setattr(cls, _METHOD, _wrap(vars(owner)[_METHOD]))
    except (TypeError, AttributeError):
        return  # an extension type: its Python subclasses get the wrapper instead
    _patched[cls] = own


def _subclasses(root: type) -> list[type]:
    """Every subclass of ``root``, parents before children."""
    order: list[type] = []
    seen: set[type] = set()
    pending = [root]
    while pending:
        cls = pending.pop(0)
        sub: type
        for sub in type.__subclasses__(cls):
            if sub not in seen:
                seen.add(sub)
                order.append(sub)
                pending.append(sub)
    return order


def _on_subclass(cls: type[Any], /, **kwargs: Any) -> None:
    super(_BASE, cls).__init_subclass__(**kwargs)
    with _lock:
        if _source is not None:
            _patch(cls)


def _patch_all() -> None:
    global _init_subclass
    if _init_subclass is None:
        _init_subclass = classmethod(_on_subclass)
        _BASE.__init_subclass__ = _init_subclass  # type: ignore[method-assign]
    for cls in _subclasses(_BASE):
        _patch(cls)


def _restore_all() -> None:
    global _init_subclass
    if _init_subclass is not None and vars(_BASE).get("__init_subclass__") is _init_subclass:
        del _BASE.__init_subclass__
        _init_subclass = None
    for cls, own in list(_patched.items()):
        if not _ours(vars(cls).get(_METHOD)):
            continue  # replaced since: ours stays inert in the chain
        _wrappers.discard(vars(cls)[_METHOD])
        if own is None:
            delattr(cls, _METHOD)
        else:
            setattr(cls, _METHOD, own)
        del _patched[cls]


def without_arguments(message: str) -> str:
    """``Exception in callback f('x') at a.py:3`` -> ``Exception in callback f(...) at a.py:3``.

    asyncio writes a callback's arguments into its message with ``repr()``; they are dropped.
    """
    start = message.find("(")
    if start < 0:
        return message
    end = message.rfind(")")
    if end < start:
        return message[:start] + "(...)"
    return message[:start] + "(...)" + message[end + 1 :]


def _describe_task(context: dict[str, Any]) -> str | None:
    future = context.get("future") or context.get("task")
    if not isinstance(future, asyncio.Task):
        return None
    name = future.get_name()
    return _format.truncate(_format.clean(name), _MAX_TEXT) if type(name) is str else None


def _context_parent(context: dict[str, Any]) -> ParentSpan | None:
    """The span current when the failed task or callback was created (its own context)."""
    for key in ("task", "future", "handle"):
        owner = context.get(key)
        if owner is None:
            continue
        ctx = _compat.asyncio_context(owner)
        if ctx is not None:
            try:
                span_context = ctx.run(_parent.current_span_context)
            except RuntimeError:  # the context is entered right now (a running task)
                return None
            return None if span_context is None else _parent.to_parent(span_context)
    return None


class AsyncioSource:
    """Reports every exception passed to a loop's ``call_exception_handler``."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter

    def install(self) -> None:
        global _source
        with _lock:
            _source = self
            _patch_all()

    def uninstall(self) -> None:
        global _source
        with _lock:
            if _source is self:
                _source = None
                _restore_all()

    def report(self, exc: BaseException, context: dict[str, Any]) -> None:
        """Hand the facts of one handler call to the reporter."""
        extra: dict[str, AttributeValue] = {}
        message = context.get("message")
        if type(message) is str:
            extra[MESSAGE_ATTRIBUTE] = _format.truncate(
                _format.clean(without_arguments(message)), _MAX_TEXT
            )
        task = _describe_task(context)
        if task is not None:
            extra[TASK_ATTRIBUTE] = task
        origin = origin_of(exc)  # an executor's job (run_in_executor): the thread that raised
        self._reporter.report(
            type(exc),
            exc,
            exc.__traceback__,
            source="asyncio",
            thread=thread_facts(None) if origin is None else origin.thread,
            parent=_context_parent(context) if origin is None else origin.parent,
            extra=extra,
        )
