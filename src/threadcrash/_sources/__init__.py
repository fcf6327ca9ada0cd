"""Crash sources: each hook only extracts facts and hands them to the reporter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .._reporter import Reporter
from ._asyncio import AsyncioSource
from ._fatal import FatalSource
from ._future import FutureSource
from ._main import MainSource
from ._process import ProcessSource
from ._thread import ThreadingSource
from ._unraisable import UnraisableSource


class Source(Protocol):
    """A hook that can be installed and uninstalled as an exact mirror."""

    def install(self) -> None: ...

    def uninstall(self) -> None: ...


SourceFactory = Callable[[Reporter], Source]

FACTORIES: dict[str, SourceFactory] = {
    "thread": ThreadingSource,
    "main": MainSource,
    "unraisable": UnraisableSource,
    "asyncio": AsyncioSource,
    "fatal": FatalSource,
    "future": FutureSource,
    "process": ProcessSource,
}
