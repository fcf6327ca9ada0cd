"""``sys.excepthook``: the uncaught exception that ends the process."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from .._internal import record_internal_error
from .._reporter import Reporter
from ._thread import thread_facts


class MainSource:
    """Installed as ``sys.excepthook`` itself; reports FATAL and flushes before CPython prints."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self._chain = reporter.settings.chain
        self._keyboard_interrupt = reporter.settings.report_keyboard_interrupt
        self._previous: Any = None
        self.active = False

    def install(self) -> None:
        self._previous = sys.excepthook
        sys.excepthook = self
        self.active = True

    def uninstall(self) -> None:
        self.active = False
        if sys.excepthook is self:
            sys.excepthook = self._previous

    def _wanted(self, exc_type: type[BaseException]) -> bool:
        if not self.active or exc_type is SystemExit:
            return False
        try:
            interrupted = issubclass(exc_type, KeyboardInterrupt)
        except TypeError:
            return True
        return self._keyboard_interrupt or not interrupted

    def __call__(
        self,
        exc_type: type[BaseException],
        exc_value: BaseException,
        exc_tb: TracebackType | None,
    ) -> None:
        reported = False
        if self._wanted(exc_type):
            try:
                thread = thread_facts(None)
                reported = self._reporter.report(
                    exc_type, exc_value, exc_tb, source="main", thread=thread, fatal=True
                )
                if reported:
                    self._reporter.flush()
            except Exception as error:
                record_internal_error("sys.excepthook", error)
        if self._chain or not reported:
            previous = self._previous or sys.__excepthook__
            previous(exc_type, exc_value, exc_tb)
