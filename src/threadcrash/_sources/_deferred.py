"""Sources for a module the program may never import: hooked once it does, not before."""

from __future__ import annotations

import threading
from types import ModuleType
from typing import TYPE_CHECKING

from .. import _imports
from .._reporter import Reporter

if TYPE_CHECKING:
    from ._asyncio import AsyncioSource


class AsyncioWhenImported:
    """The asyncio source, installed when the program imports asyncio (threadcrash does not)."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self._lock = threading.Lock()
        self._active = False
        self._source: AsyncioSource | None = None

    def install(self) -> None:
        with self._lock:
            self._active = True
        _imports.when_imported("asyncio", self._start)

    def _start(self, module: ModuleType) -> None:
        # start-up: the asyncio source loads when the program imports asyncio
        from ._asyncio import AsyncioSource  # noqa: PLC0415

        with self._lock:
            if not self._active or self._source is not None:
                return
            source = AsyncioSource(self._reporter)
            source.install()
            self._source = source

    def uninstall(self) -> None:
        _imports.forget("asyncio", self._start)
        with self._lock:
            self._active = False
            source, self._source = self._source, None
        if source is not None:
            source.uninstall()
