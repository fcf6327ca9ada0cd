"""Crash sources: each hook only extracts facts and hands them to the reporter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .._reporter import Reporter
from ._deferred import AsyncioWhenImported
from ._future import FutureSource, at_exit
from ._main import MainSource
from ._process import ProcessSource
from ._thread import ThreadingSource
from ._unraisable import UnraisableSource


class Source(Protocol):
    """A hook that can be installed and uninstalled as an exact mirror."""

    def install(self) -> None: ...

    def uninstall(self) -> None: ...


SourceFactory = Callable[[Reporter], Source]


def _fatal(reporter: Reporter) -> Source:
    """The opt-in ``fatal`` source, imported only when asked for."""
    from ._fatal import FatalSource

    return FatalSource(reporter)


FACTORIES: dict[str, SourceFactory] = {
    "thread": ThreadingSource,
    "main": MainSource,
    "unraisable": UnraisableSource,
    "asyncio": AsyncioWhenImported,
    "fatal": _fatal,
    "future": FutureSource,
    "process": ProcessSource,
}

EXIT_STEPS: dict[str, Callable[[], None]] = {"future": at_exit}
"""What a source still has to report at exit, before the providers shut down."""
