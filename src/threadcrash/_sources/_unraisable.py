"""``sys.unraisablehook``: ``_thread`` thread crashes, ``__del__`` and finalizer errors."""

from __future__ import annotations

import sys
import types
from typing import Any

from .. import _format
from .._internal import record_internal_error
from .._record import AttributeValue
from . import _unraisable_message
from ._hook import InstalledHook
from ._thread import thread_facts

MESSAGE_ATTRIBUTE = "threadcrash.unraisable.message"
OBJECT_ATTRIBUTE = "threadcrash.unraisable.object"
DEFAULT_MESSAGE = "Exception ignored in"
_MAX_DESCRIPTION = 256
_NAMED = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type)


def _text(value: object) -> str | None:
    return value if type(value) is str else None


def describe(obj: object) -> str:
    """``<module.Type object at 0x...>``: built from the type and ``id()`` only, never ``repr()``.

    Functions, methods and classes also give their own ``__qualname__`` when it is a real
    string, since "which ``__del__``" is the useful part. Never raises; bounded in length.
    """
    try:
        kind = type(obj)
        type_text = _format.type_name(kind)  # type: ignore[arg-type]
        name = _text(getattr(obj, "__qualname__", None)) if isinstance(obj, _NAMED) else None
        if name is not None:
            text = f"<{type_text} {name} at {id(obj):#x}>"
        else:
            text = f"<{type_text} object at {id(obj):#x}>"
        return _format.truncate(_format.clean(text), _MAX_DESCRIPTION)
    except BaseException:
        return "<object>"


class UnraisableSource(InstalledHook):
    """``sys.unraisablehook``: reports, then chains the previous hook with the same args."""

    module = sys
    attribute = "unraisablehook"
    default_attribute = "__unraisablehook__"

    def __call__(self, unraisable: Any) -> None:
        reported = False
        try:
            if self.active and unraisable.exc_type is not None:
                # 3.13+ fold the object's repr into the message: keep the fixed text only
                message, folded = _unraisable_message.split(
                    _text(unraisable.err_msg) or DEFAULT_MESSAGE
                )
                extra: dict[str, AttributeValue] = {
                    MESSAGE_ATTRIBUTE: _format.truncate(_format.clean(message), _MAX_DESCRIPTION)
                }
                if unraisable.object is not None:
                    extra[OBJECT_ATTRIBUTE] = describe(unraisable.object)
                elif folded is not None:
                    extra[OBJECT_ATTRIBUTE] = _format.truncate(folded, _MAX_DESCRIPTION)
                reported = self._reporter.report(
                    unraisable.exc_type,
                    unraisable.exc_value,
                    unraisable.exc_traceback,
                    source="unraisable",
                    thread=thread_facts(None),
                    extra=extra,
                )
        except BaseException as error:  # nothing escapes a hook, KeyboardInterrupt included
            record_internal_error("sys.unraisablehook", error)
        finally:
            self.chain(reported, unraisable)
