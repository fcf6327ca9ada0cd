"""``threading.excepthook``: uncaught exceptions in ``threading.Thread``."""

from __future__ import annotations

import threading
from typing import Any

from .. import _parent
from .._internal import record_internal_error
from .._record import ThreadFacts
from .._reporter import Reporter


def thread_facts(thread: threading.Thread | None) -> ThreadFacts:
    """Name, ident and native id; for ``thread=None``, those of the running thread."""
    if thread is not None:
        return ThreadFacts(thread.name, thread.ident, thread.native_id)
    ident = threading.get_ident()
    # threading's own table: current_thread() would create a dummy Thread in a dying thread
    known = threading._active.get(ident)  # type: ignore[attr-defined]
    return ThreadFacts(known.name if known is not None else None, ident, threading.get_native_id())


class ThreadingSource:
    """Installed as ``threading.excepthook`` itself, so ``excepthook is source`` tells ownership."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self._chain = reporter.settings.chain
        self._previous: Any = None
        self.active = False

    def install(self) -> None:
        self._previous = threading.excepthook
        threading.excepthook = self
        self.active = True

    def uninstall(self) -> None:
        self.active = False
        if threading.excepthook is self:
            threading.excepthook = self._previous

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
        if self._chain or not reported:
            previous = self._previous or threading.__excepthook__
            previous(args)
