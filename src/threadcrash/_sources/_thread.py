"""``threading.excepthook``: uncaught exceptions in ``threading.Thread``."""

from __future__ import annotations

import threading
from typing import Any

from .. import _parent
from .._internal import record_internal_error
from .._record import ThreadFacts
from ._hook import InstalledHook


def thread_facts(thread: threading.Thread | None) -> ThreadFacts:
    """Name, ident and native id; for ``thread=None``, those of the running thread."""
    if thread is not None:
        return ThreadFacts(thread.name, thread.ident, thread.native_id)
    ident = threading.get_ident()
    # threading's own table: current_thread() would create a dummy Thread in a dying thread
    known = threading._active.get(ident)  # type: ignore[attr-defined]
    return ThreadFacts(known.name if known is not None else None, ident, threading.get_native_id())


class ThreadingSource(InstalledHook):
    """``threading.excepthook``: reports, then chains CPython's hook with the same args object."""

    module = threading
    attribute = "excepthook"
    default_attribute = "__excepthook__"

    def __call__(self, args: Any) -> None:
        reported = False
        if self.active and args.exc_type is not SystemExit:
            try:
                reported = self._reporter.report(
                    args.exc_type,
                    args.exc_value,
                    args.exc_traceback,
                    source="thread",
                    thread=thread_facts(args.thread),
                    parent=_parent.parent_of(args.thread),
                )
            except Exception as error:
                record_internal_error("threading.excepthook", error)
        self.chain(reported, args)
