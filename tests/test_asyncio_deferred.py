"""The ``asyncio`` source of a program that imports asyncio only after ``instrument()``.

asyncio is loaded in the test process, so the program's late import is played by taking it out
of ``sys.modules`` for the test, and by running what the import system runs once asyncio has
executed: the import hook hands over the callbacks waiting for it, then calls them.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import Callable
from types import ModuleType

import pytest

import threadcrash
from tests.helpers import collect_until
from tests.otel import Otel
from threadcrash import _imports

ORIGINAL = asyncio.BaseEventLoop.call_exception_handler


async def boom() -> None:
    raise ValueError("nobody awaited me")


async def leave_a_failed_task() -> None:
    """Start a task that fails, never retrieve its exception, and let it be collected."""
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
    task = asyncio.ensure_future(boom())
    await asyncio.sleep(0.01)
    collected = weakref.ref(task)
    del task
    assert collect_until(lambda: collected() is None)


@pytest.fixture
def asyncio_not_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """To ``instrument()``, asyncio is not imported yet."""
    monkeypatch.delitem(sys.modules, "asyncio")


def import_done() -> list[Callable[[ModuleType], None]]:
    """The import of asyncio has just run: the hook hands over the callbacks waiting for it."""
    sys.modules["asyncio"] = asyncio
    return _imports._take("asyncio")


@pytest.mark.usefixtures("asyncio_not_imported")
def test_loops_are_hooked_when_the_program_imports_asyncio(otel: Otel) -> None:
    """A program importing asyncio after ``instrument()`` gets its task crashes reported."""
    threadcrash.instrument(**otel.providers)
    assert asyncio.BaseEventLoop.call_exception_handler is ORIGINAL  # nothing until the import
    for callback in import_done():
        callback(asyncio)
    asyncio.run(leave_a_failed_task())
    (span,) = otel.spans()
    assert (span.attributes or {})["threadcrash.source"] == "asyncio"
    threadcrash.uninstrument()
    assert asyncio.BaseEventLoop.call_exception_handler is ORIGINAL


@pytest.mark.usefixtures("asyncio_not_imported")
def test_uninstrument_before_asyncio_is_imported_leaves_no_import_hook(otel: Otel) -> None:
    """``uninstrument()`` before the program imports asyncio takes the import hook away."""
    before = list(sys.meta_path)
    threadcrash.instrument(**otel.providers)
    assert sys.meta_path != before
    threadcrash.uninstrument()
    assert sys.meta_path == before
    assert _imports._take("asyncio") == []


@pytest.mark.usefixtures("asyncio_not_imported")
def test_an_import_finishing_after_uninstrument_hooks_nothing(otel: Otel) -> None:
    """An import of asyncio ending just after ``uninstrument()`` leaves the loops as they were."""
    threadcrash.instrument(**otel.providers)
    callbacks = import_done()
    threadcrash.uninstrument()  # another thread, before the import calls back
    for callback in callbacks:
        callback(asyncio)
    assert asyncio.BaseEventLoop.call_exception_handler is ORIGINAL
    asyncio.run(leave_a_failed_task())
    assert otel.spans() == []
