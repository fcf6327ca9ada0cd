"""The source line under each frame of a stack trace, when its module's source is odd."""

from __future__ import annotations

import importlib.machinery
import linecache
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import threadcrash
from tests.helpers import run_thread
from tests.otel import Otel

SOURCE = "def crash():\n    raise ValueError('from a module with no file')\n"


class RefusingLoader:
    """A loader whose ``get_source`` fails, as a broken import hook's may."""

    def get_source(self, name: str) -> str:
        raise RuntimeError("source unavailable")


def module_function(filename: str, loader: Any = None) -> Callable[[], None]:
    """``crash`` from a module made of ``SOURCE`` under ``filename``, a file that does not exist."""
    module = types.ModuleType("virtual_module")
    module.__loader__ = loader  # Python 3.10 to 3.14 look here; 3.15 in the spec
    module.__spec__ = importlib.machinery.ModuleSpec("virtual_module", loader, origin=filename)
    exec(compile(SOURCE, filename, "exec"), module.__dict__)
    crash: Callable[[], None] = module.crash
    return crash


@pytest.fixture
def forget_file() -> Iterator[list[str]]:
    """The file names a test puts in ``linecache`` are gone from it afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        linecache.cache.pop(name, None)


def stacktrace(otel: Otel) -> str:
    (log,) = otel.logs()
    return str(log.attributes["exception.stacktrace"])


def test_a_module_whose_loader_fails_shows_its_frame_without_a_line(
    otel: Otel, forget_file: list[str]
) -> None:
    """A frame whose source cannot be loaded: the frame is shown, then the next, nothing between."""
    filename = "/nonexistent/refusing_loader.py"
    forget_file.append(filename)
    threadcrash.instrument(**otel.providers)
    run_thread(module_function(filename, RefusingLoader()))
    lines = stacktrace(otel).splitlines()
    (at,) = [index for index, line in enumerate(lines) if filename in line]
    assert lines[at].endswith("line 2, in crash")
    assert lines[at + 1] == "ValueError: from a module with no file"


def test_a_source_cached_as_bytes_is_not_shown(otel: Otel, forget_file: list[str]) -> None:
    """A tool that put bytes in ``linecache`` for a file: no ``b'...'`` text in the stack trace."""
    filename = "/nonexistent/cached_as_bytes.py"
    forget_file.append(filename)
    lines = [line.encode() for line in SOURCE.splitlines(keepends=True)]
    linecache.cache[filename] = (len(SOURCE), None, lines, filename)  # type: ignore[assignment]
    threadcrash.instrument(**otel.providers)
    run_thread(module_function(filename))
    text = stacktrace(otel)
    assert "b'" not in text
    assert "XXXX" not in text
    trace = text.splitlines()
    (at,) = [index for index, line in enumerate(trace) if filename in line]
    assert trace[at + 1] == "ValueError: from a module with no file"


class SourceLoader:
    """A loader that gives the source of a module that has no file (a zip import's, say)."""

    def get_source(self, name: str) -> str:
        return SOURCE


def test_a_module_whose_source_comes_from_its_loader_shows_its_line(
    otel: Otel, forget_file: list[str]
) -> None:
    """A frame from a module with no file on disk: its loader's source line is shown."""
    filename = "/nonexistent/from_loader.py"
    forget_file.append(filename)
    threadcrash.instrument(**otel.providers)
    run_thread(module_function(filename, SourceLoader()))
    trace = stacktrace(otel).splitlines()
    (at,) = [index for index, line in enumerate(trace) if filename in line]
    assert trace[at + 1] == "    raise ValueError('from a module with no file')"
