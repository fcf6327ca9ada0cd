"""The ``asyncio`` source: exceptions reaching a loop's handler, on any loop class."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

import threadcrash
from tests.helpers import collect_until
from tests.otel import Otel

Handler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


async def boom() -> None:
    raise ValueError("nobody awaited me")


async def leave_a_failed_task(handler: Handler | None = None) -> None:
    """Start a task that fails, never retrieve its exception, and let it be collected."""
    if handler is not None:
        asyncio.get_running_loop().set_exception_handler(handler)
    task = asyncio.ensure_future(boom())
    task.set_name("forgotten")
    await asyncio.sleep(0.01)
    collected = weakref.ref(task)
    del task
    assert collect_until(lambda: collected() is None)


def run_with(loop: asyncio.AbstractEventLoop, main: Coroutine[Any, Any, None]) -> None:
    try:
        loop.run_until_complete(main)
    finally:
        loop.close()


def assert_one_report(otel: Otel) -> dict[str, Any]:
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["threadcrash.source"] == "asyncio"
    assert attributes["exception.type"] == "ValueError"
    assert attributes["threadcrash.asyncio.message"] == "Task exception was never retrieved"
    assert attributes["threadcrash.asyncio.task"] == "forgotten"
    assert len(otel.logs()) == 1
    assert otel.total() == 1
    return attributes


def test_unretrieved_task_exception_is_reported(
    otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    """An unretrieved task exception gives one report, and asyncio still logs it."""
    threadcrash.instrument(**otel.providers)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(leave_a_failed_task())
    assert_one_report(otel)
    (logged,) = caplog.records
    assert logged.getMessage().startswith("Task exception was never retrieved")


def test_the_application_handler_is_still_called(otel: Otel) -> None:
    """A handler set with ``loop.set_exception_handler`` still gets every context."""
    seen: list[str] = []
    threadcrash.instrument(**otel.providers)
    asyncio.run(leave_a_failed_task(lambda loop, context: seen.append(context["message"])))
    assert seen == ["Task exception was never retrieved"]
    assert_one_report(otel)


def test_failing_callback_is_reported(otel: Otel, caplog: pytest.LogCaptureFixture) -> None:
    """An exception in a ``call_soon`` callback is reported with the loop's message."""
    threadcrash.instrument(**otel.providers)

    async def main() -> None:
        asyncio.get_running_loop().call_soon(lambda: 1 / 0)
        await asyncio.sleep(0.01)

    with caplog.at_level(logging.CRITICAL, logger="asyncio"):
        asyncio.run(main())
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["exception.type"] == "ZeroDivisionError"
    assert str(attributes["threadcrash.asyncio.message"]).startswith("Exception in callback")


def test_loop_class_defined_after_instrument(otel: Otel) -> None:
    """A loop class created after ``instrument()`` that overrides the method is reported once."""
    threadcrash.instrument(**otel.providers)

    class CustomLoop(asyncio.SelectorEventLoop):
        def call_exception_handler(self, context: dict[str, Any]) -> None:
            super().call_exception_handler(context)

    run_with(CustomLoop(), leave_a_failed_task(lambda loop, context: None))
    assert_one_report(otel)


def test_uvloop_is_covered(otel: Otel) -> None:
    """The uvloop loop, whose base is an extension type, reports like the standard loop."""
    uvloop = pytest.importorskip("uvloop")
    threadcrash.instrument(**otel.providers)
    run_with(uvloop.new_event_loop(), leave_a_failed_task(lambda loop, context: None))
    assert_one_report(otel)


def test_uninstrument_restores_the_loop_classes(otel: Otel) -> None:
    """After ``uninstrument()`` the loop classes have their own methods back, and stay silent."""
    original = asyncio.BaseEventLoop.call_exception_handler
    threadcrash.instrument(**otel.providers)
    assert asyncio.BaseEventLoop.call_exception_handler is not original
    threadcrash.uninstrument()
    assert asyncio.BaseEventLoop.call_exception_handler is original
    assert "__init_subclass__" not in vars(asyncio.AbstractEventLoop)
    asyncio.run(leave_a_failed_task(lambda loop, context: None))
    assert otel.spans() == []


def test_asyncio_source_can_be_turned_off(otel: Otel) -> None:
    """``sources`` without ``asyncio`` leaves the loops alone."""
    original = asyncio.BaseEventLoop.call_exception_handler
    threadcrash.instrument(sources="thread", **otel.providers)
    assert asyncio.BaseEventLoop.call_exception_handler is original


def test_a_method_wrapped_after_us_is_left_in_place(otel: Otel) -> None:
    """If another library wrapped the loop's method after us, ``uninstrument()`` leaves it."""
    original = asyncio.BaseEventLoop.call_exception_handler
    threadcrash.instrument(**otel.providers)
    ours = asyncio.BaseEventLoop.call_exception_handler

    def theirs(self: asyncio.BaseEventLoop, context: dict[str, Any]) -> None:
        ours(self, context)

    asyncio.BaseEventLoop.call_exception_handler = theirs  # type: ignore[method-assign]
    try:
        threadcrash.uninstrument()
        assert asyncio.BaseEventLoop.call_exception_handler is theirs
        asyncio.run(leave_a_failed_task(lambda loop, context: None))
        assert otel.spans() == []  # ours is inert
    finally:
        asyncio.BaseEventLoop.call_exception_handler = original  # type: ignore[method-assign]


def test_instrument_again_after_a_foreign_wrapper(otel: Otel) -> None:
    """Wrapped by someone else, uninstrumented, instrumented again: each crash reported once."""
    original = asyncio.BaseEventLoop.call_exception_handler
    threadcrash.instrument(**otel.providers)
    ours = asyncio.BaseEventLoop.call_exception_handler

    def theirs(self: asyncio.BaseEventLoop, context: dict[str, Any]) -> None:
        ours(self, context)

    asyncio.BaseEventLoop.call_exception_handler = theirs  # type: ignore[method-assign]
    try:
        threadcrash.uninstrument()
        threadcrash.instrument(**otel.providers)
        asyncio.run(leave_a_failed_task(lambda loop, context: None))
        assert_one_report(otel)
        threadcrash.uninstrument()
        assert asyncio.BaseEventLoop.call_exception_handler is theirs
    finally:
        asyncio.BaseEventLoop.call_exception_handler = original  # type: ignore[method-assign]
    threadcrash.instrument(**otel.providers)
    assert asyncio.BaseEventLoop.call_exception_handler is not original
    threadcrash.uninstrument()
    assert asyncio.BaseEventLoop.call_exception_handler is original
