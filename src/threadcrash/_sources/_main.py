"""``sys.excepthook``: the uncaught exception that ends the process."""

from __future__ import annotations

import sys
from types import TracebackType

from .._internal import record_internal_error
from .._reporter import Reporter
from ._hook import InstalledHook
from ._thread import thread_facts


class MainSource(InstalledHook):
    """``sys.excepthook``: reports FATAL and flushes before the previous hook prints."""

    module = sys
    attribute = "excepthook"
    default_attribute = "__excepthook__"

    def __init__(self, reporter: Reporter) -> None:
        super().__init__(reporter)
        self._keyboard_interrupt = reporter.settings.report_keyboard_interrupt

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
        try:
            if self._wanted(exc_type):
                thread = thread_facts(None)
                reported = self._reporter.report(
                    exc_type, exc_value, exc_tb, source="main", thread=thread, fatal=True
                )
                if reported:
                    self._reporter.flush()
        except BaseException as error:  # a Ctrl-C during the flush too: the chain still runs
            record_internal_error("sys.excepthook", error)
        finally:
            self.chain(reported, exc_type, exc_value, exc_tb)
