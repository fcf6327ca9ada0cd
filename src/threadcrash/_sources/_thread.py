"""``threading.excepthook``: uncaught exceptions in ``threading.Thread``."""

from __future__ import annotations

import threading
from typing import Any

from .. import _compat, _parent
from .._internal import record_internal_error
from .._record import ThreadFacts
from ._hook import InstalledHook


def thread_facts(thread: threading.Thread | None) -> ThreadFacts:
    """Name, ident and native id; for ``thread=None``, those of the running thread.

    Never raises: a name that is not a string (an int, bytes) is written as text, and a fact
    that cannot be read (a property that raises) is that of the running thread, or left out.
    """
    ident = threading.get_ident()
    if thread is None:
        # threading's own table: current_thread() would create a dummy Thread in a dying thread
        thread = _compat.running_thread(ident)
        if thread is None:
            return ThreadFacts(None, ident, threading.get_native_id())
    return ThreadFacts(
        _name(_read(thread, "name")),
        _integer(_read(thread, "ident"), ident),
        _integer(_read(thread, "native_id"), threading.get_native_id()),
    )


def _read(thread: object, attribute: str) -> object:
    try:
        return getattr(thread, attribute, None)
    except BaseException:
        return None


def _name(value: object) -> str | None:
    if type(value) is str:
        return value
    if type(value) in (bytes, bytearray) and isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if type(value) in (int, float, bool):
        return repr(value)
    return None


def _integer(value: object, default: int) -> int:
    return value if type(value) is int else default


class ThreadingSource(InstalledHook):
    """``threading.excepthook``: reports, then chains CPython's hook with the same args object."""

    module = threading
    attribute = "excepthook"
    default_attribute = "__excepthook__"

    def __call__(self, args: Any) -> None:
        reported = False
        try:
            if self.active and args.exc_type is not SystemExit:
                thread = thread_facts(args.thread)
                try:
                    parent = _parent.parent_of(args.thread)
                except BaseException as error:
                    record_internal_error("thread parent", error)
                    parent = None
                reported = self._reporter.report(
                    args.exc_type,
                    args.exc_value,
                    args.exc_traceback,
                    source="thread",
                    thread=thread,
                    parent=parent,
                )
        except BaseException as error:  # nothing escapes a hook, KeyboardInterrupt included
            record_internal_error("threading.excepthook", error)
        finally:
            self.chain(reported, args)
