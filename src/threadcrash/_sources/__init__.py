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


SourceFactory = Callable[[Reporter, Callable[[], str]], Source]
"""Builds a source from the reporter and the service's name (asked for only where needed)."""


def _fatal(reporter: Reporter, service_name: Callable[[], str]) -> Source:
    """The opt-in ``fatal`` source, imported only when asked for (a start-up choice)."""
    from ._fatal import FatalSource  # opt-in: its imports would cost every other program  # noqa: PLC0415

    return FatalSource(reporter, service_name)


def _hook(source: Callable[[Reporter], Source]) -> SourceFactory:
    return lambda reporter, _service_name: source(reporter)


FACTORIES: dict[str, SourceFactory] = {
    "thread": _hook(ThreadingSource),
    "main": _hook(MainSource),
    "unraisable": _hook(UnraisableSource),
    "asyncio": _hook(AsyncioWhenImported),
    "fatal": _fatal,
    "future": _hook(FutureSource),
    "process": _hook(ProcessSource),
}

EXIT_STEPS: dict[str, Callable[[], None]] = {"future": at_exit}
"""What a source still has to report at exit, before the providers shut down."""
