"""The ``asyncio`` source in-process: the trace a crash joins, odd loop classes, odd contexts."""

from __future__ import annotations

import asyncio
import inspect
import sys
import weakref
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk.trace import ReadableSpan

import threadcrash
from tests.conftest import InternalErrors
from tests.helpers import collect_until, run_thread
from tests.otel import Otel
from threadcrash._sources._asyncio import without_arguments

ORIGINAL = asyncio.BaseEventLoop.call_exception_handler


async def boom() -> None:
    raise ValueError("nobody awaited me")


def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An application handler that keeps asyncio's own log out of the test's output."""


def only_crash(otel: Otel) -> dict[str, Any]:
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["threadcrash.source"] == "asyncio"
    return attributes


def fail_one_callback(loop: asyncio.AbstractEventLoop) -> None:
    """Run a callback that raises on ``loop``, then close it."""
    try:
        loop.call_soon(lambda: 1 / 0)
        loop.run_until_complete(asyncio.sleep(0.01))
    finally:
        loop.close()


def parent_of(otel: Otel) -> tuple[int, int] | None:
    (span,) = otel.spans()
    return None if span.parent is None else (span.context.trace_id, span.parent.span_id)


def ids(span: ReadableSpan) -> tuple[int, int]:
    assert span.context is not None
    return span.context.trace_id, span.context.span_id


def test_a_forgotten_task_crash_joins_the_trace_that_created_the_task(otel: Otel) -> None:
    """A task made in a request, failing unread, is reported inside its trace (3.12+)."""
    threadcrash.instrument(**otel.providers)
    tracer = otel.tracer_provider.get_tracer("app")

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(quiet)
        with tracer.start_as_current_span("request"):
            task = asyncio.ensure_future(boom())
        await asyncio.sleep(0.01)
        collected = weakref.ref(task)
        del task
        assert collect_until(lambda: collected() is None)

    asyncio.run(main())
    (request,) = otel.spans("request")
    # a task's context is readable from 3.12 (Task.get_context()); before, the crash has no parent
    assert parent_of(otel) == (ids(request) if sys.version_info >= (3, 12) else None)
    attributes = only_crash(otel)
    assert attributes["code.function.name"] == "boom"  # the task's own traceback
    assert [log.body for log in otel.logs()] == ["nobody awaited me"]


def test_a_failing_callback_joins_the_trace_that_scheduled_it(otel: Otel) -> None:
    """A ``call_soon`` callback scheduled during a request is reported inside that trace."""
    threadcrash.instrument(**otel.providers)
    tracer = otel.tracer_provider.get_tracer("app")

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(quiet)
        with tracer.start_as_current_span("request"):
            asyncio.get_running_loop().call_soon(lambda: 1 / 0)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    (request,) = otel.spans("request")
    assert only_crash(otel)["exception.type"] == "ZeroDivisionError"
    assert parent_of(otel) == ids(request)


def test_a_task_that_fails_at_shutdown_joins_the_trace_that_created_it(otel: Otel) -> None:
    """A task still running when ``asyncio.run()`` ends, failing as it is cancelled, is reported."""
    threadcrash.instrument(**otel.providers)
    tracer = otel.tracer_provider.get_tracer("app")
    started = asyncio.Event()

    async def stubborn() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ValueError("refused to stop") from None

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(quiet)
        with tracer.start_as_current_span("request"):
            asyncio.ensure_future(stubborn()).set_name("stubborn")
        await asyncio.wait_for(started.wait(), 10)

    asyncio.run(main())
    (request,) = otel.spans("request")
    attributes = only_crash(otel)
    assert str(attributes["threadcrash.asyncio.message"]).startswith(
        "unhandled exception during asyncio.run("
    )
    assert attributes["threadcrash.asyncio.task"] == "stubborn"
    assert parent_of(otel) == (ids(request) if sys.version_info >= (3, 12) else None)  # as above


def test_a_crash_outside_any_request_starts_its_own_trace(otel: Otel) -> None:
    """A callback scheduled with no span current is reported in a new trace, with no parent."""
    threadcrash.instrument(**otel.providers)

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(quiet)
        asyncio.get_running_loop().call_soon(lambda: 1 / 0)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert parent_of(otel) is None


def test_an_error_handed_over_by_the_running_task_itself_is_reported(otel: Otel) -> None:
    """A library passing the running task's error to the loop's handler: reported, no parent."""
    threadcrash.instrument(**otel.providers)
    tracer = otel.tracer_provider.get_tracer("app")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(quiet)
        with tracer.start_as_current_span("request"):
            try:
                raise ValueError("handled by a library")
            except ValueError as error:
                task = asyncio.current_task()
                loop.call_exception_handler({"message": "m", "exception": error, "task": task})

    asyncio.run(main())
    assert only_crash(otel)["exception.type"] == "ValueError"
    assert parent_of(otel) is None  # the task's context is entered: it cannot be read


class OddlyNamed(asyncio.Task):  # type: ignore[type-arg]
    """A task class whose name is not a string."""

    def get_name(self) -> Any:
        return 7


def test_a_task_whose_name_is_not_a_string_is_reported_without_a_name(otel: Otel) -> None:
    """A task from a custom task class naming itself with a number: reported, no task name."""
    threadcrash.instrument(**otel.providers)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(quiet)
        loop.set_task_factory(lambda loop, coro, **kwargs: OddlyNamed(coro, loop=loop, **kwargs))
        task = asyncio.ensure_future(boom())
        await asyncio.sleep(0.01)
        collected = weakref.ref(task)
        del task
        assert collect_until(lambda: collected() is None)

    asyncio.run(main())
    attributes = only_crash(otel)
    assert attributes["exception.type"] == "ValueError"
    assert "threadcrash.asyncio.task" not in attributes


class Registering:
    """A mixin that registers its subclasses, as plugin bases do."""

    registered: ClassVar[list[str]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Registering.registered.append(cls.__name__)


def test_a_loop_class_still_runs_the_init_subclass_of_its_other_bases(otel: Otel) -> None:
    """A loop class defined after ``instrument()`` with a mixin: the mixin still sees it."""
    threadcrash.instrument(**otel.providers)
    Registering.registered.clear()

    class MixedLoop(asyncio.SelectorEventLoop, Registering):
        pass

    assert Registering.registered == ["MixedLoop"]


def test_a_loop_class_with_its_own_handler_defined_after_instrument(otel: Otel) -> None:
    """A loop class made after ``instrument()`` whose handler never calls the base one reports."""
    threadcrash.instrument(**otel.providers)
    seen: list[str] = []

    class OwnHandlerLoop(asyncio.SelectorEventLoop):
        def call_exception_handler(self, context: dict[str, Any]) -> None:
            seen.append(context["message"])

    fail_one_callback(OwnHandlerLoop())
    assert only_crash(otel)["exception.type"] == "ZeroDivisionError"
    assert len(seen) == 1


class Refusing:
    """A class attribute that raises when it is read from the class."""

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        raise RuntimeError("not readable")


def strange_loop_class() -> type:
    class Strange(asyncio.SelectorEventLoop):
        call_exception_handler = Refusing()

    return Strange


@pytest.fixture
def forget_strange_classes() -> Iterator[list[type]]:
    """The loop classes a test makes are gone afterwards, so no later instrument() meets them."""
    made: list[type] = []
    yield made
    gone = [weakref.ref(cls) for cls in made]
    made.clear()
    assert collect_until(lambda: all(ref() is None for ref in gone))


def test_a_loop_class_that_cannot_be_read_is_left_alone_when_defined(
    otel: Otel, internal_errors: InternalErrors, forget_strange_classes: list[type]
) -> None:
    """A loop class whose handler raises when read, defined after ``instrument()``: no raise."""
    threadcrash.instrument(**otel.providers)
    forget_strange_classes.append(strange_loop_class())
    assert isinstance(vars(forget_strange_classes[0])["call_exception_handler"], Refusing)
    ((where, text),) = internal_errors.seen
    assert where == "asyncio loop class"
    assert "RuntimeError: not readable" in text


def test_instrument_with_a_loop_class_that_cannot_be_read(
    otel: Otel, internal_errors: InternalErrors, forget_strange_classes: list[type]
) -> None:
    """Such a class already defined: ``instrument()`` does not raise, the others are hooked."""
    forget_strange_classes.append(strange_loop_class())
    threadcrash.instrument(**otel.providers)
    assert asyncio.BaseEventLoop.call_exception_handler is not ORIGINAL
    assert [where for where, _text in internal_errors.seen] == ["asyncio loop class"]
    threadcrash.uninstrument()
    assert asyncio.BaseEventLoop.call_exception_handler is ORIGINAL


@pytest.mark.parametrize("message", [None, 42])
def test_a_context_without_a_text_message_is_reported_without_one(
    otel: Otel, message: object
) -> None:
    """A handler call whose message is missing or not a string: reported, no message attribute."""
    threadcrash.instrument(**otel.providers)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(quiet)
        context: dict[str, Any] = {"exception": ValueError("no text")}
        if message is not None:
            context["message"] = message
        loop.call_exception_handler(context)

    asyncio.run(main())
    assert "threadcrash.asyncio.message" not in only_crash(otel)


def test_a_callbacks_arguments_never_reach_the_message(otel: Otel) -> None:
    """A callback's arguments are cut from asyncio's message, even one holding a parenthesis."""
    threadcrash.instrument(**otel.providers)

    def fail(*_args: object) -> None:
        raise ValueError("callback failed")

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(quiet)
        asyncio.get_running_loop().call_soon(fail, ")", "tok-41b7")
        await asyncio.sleep(0.01)

    asyncio.run(main())
    message = str(only_crash(otel)["threadcrash.asyncio.message"])
    assert message.startswith("Exception in callback ")
    assert "fail(...)" in message
    assert "tok-41b7" not in message


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Exception in callback f(g(1)) at a.py:3", "Exception in callback f(...) at a.py:3"),
        ("('tok-41b7',) at a.py:3", "(...) at a.py:3"),
        ("Exception in callback f(')', 'tok-41b7')", "Exception in callback f(...)"),
        ("Exception in callback f('tok-41b7", "Exception in callback f(...)"),
        ("a) callback f('tok-41b7", "a) callback f(...)"),
    ],
    ids=["nested", "at-the-start", "parenthesis-in-an-argument", "cut-short", "closed-first"],
)
def test_arguments_are_cut_from_the_first_parenthesis_to_the_last(
    message: str, expected: str
) -> None:
    """Everything from the first ``(`` to the last ``)`` goes, wherever the arguments start."""
    assert without_arguments(message) == expected


def test_only_a_class_that_defines_the_handler_gets_the_wrapper(otel: Otel) -> None:
    """Loop classes that inherit the handler, or have only the abstract one, are left alone."""

    class Bare(asyncio.AbstractEventLoop):
        pass

    threadcrash.instrument(**otel.providers)
    assert asyncio.BaseEventLoop.call_exception_handler is not ORIGINAL
    assert "call_exception_handler" not in vars(asyncio.SelectorEventLoop)
    assert "call_exception_handler" not in vars(Bare)


def test_the_first_report_of_a_new_thread_loop(otel: Otel) -> None:
    """A loop running in a thread of its own reports its first failing callback, once."""
    threadcrash.instrument(**otel.providers)

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(quiet)
        asyncio.get_running_loop().call_soon(lambda: 1 / 0)
        await asyncio.sleep(0.01)

    run_thread(lambda: asyncio.run(main()))
    assert only_crash(otel)["exception.type"] == "ZeroDivisionError"


def test_an_error_handed_over_while_another_is_handled_is_reported_too(otel: Otel) -> None:
    """An application handler passing a second error to the loop: both are reported."""
    threadcrash.instrument(**otel.providers)

    def forward(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context["message"] == "first":
            loop.call_exception_handler({"message": "second", "exception": KeyError("k")})

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(forward)
        loop.call_exception_handler({"message": "first", "exception": ValueError("v")})

    asyncio.run(main())
    types = sorted(str((span.attributes or {})["exception.type"]) for span in otel.spans())
    assert types == ["KeyError", "ValueError"]


class CallableHandler:
    """A handler that is a plain callable object, not a function: the loop does not bind it."""

    def __init__(self) -> None:
        self.contexts: list[dict[str, Any]] = []

    def __call__(self, context: dict[str, Any]) -> None:
        self.contexts.append(context)


def test_a_loop_handler_that_does_not_bind_gets_only_the_context(otel: Otel) -> None:
    """A ``staticmethod`` or callable-object handler is called as before, with the context alone."""
    static_seen: list[str] = []
    callable_handler = CallableHandler()

    class StaticLoop(asyncio.SelectorEventLoop):
        @staticmethod
        def call_exception_handler(context: dict[str, Any]) -> None:
            static_seen.append(context["message"])

    class CallableLoop(asyncio.SelectorEventLoop):
        call_exception_handler = callable_handler

    threadcrash.instrument(**otel.providers)
    fail_one_callback(StaticLoop())
    fail_one_callback(CallableLoop())
    assert len(static_seen) == 1
    assert len(callable_handler.contexts) == 1
    assert [span.attributes["exception.type"] for span in otel.spans()] == [  # type: ignore[index]
        "ZeroDivisionError",
        "ZeroDivisionError",
    ]


class UnreadableContext(dict[str, Any]):
    """A handler context whose exception entry cannot be read (its other entries can)."""

    def get(self, key: str, default: Any = None) -> Any:
        if key == "exception":
            raise RuntimeError("context unavailable")
        return super().get(key, default)


def test_a_context_that_cannot_be_read_still_reaches_the_handler(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """A context our wrapper cannot read is an internal error; the loop's handler still gets it."""
    threadcrash.instrument(**otel.providers)
    handed: list[object] = []
    loop = asyncio.new_event_loop()
    try:
        loop.set_exception_handler(lambda loop, context: handed.append(context))
        context = UnreadableContext(message="odd")
        loop.call_exception_handler(context)
    finally:
        loop.close()
    assert handed == [context]
    assert otel.spans() == []
    ((where, text),) = internal_errors.seen
    assert where == "asyncio exception handler"
    assert "RuntimeError: context unavailable" in text


def test_one_context_handed_to_the_handler_twice_is_reported_twice(otel: Otel) -> None:
    """Each call of the loop's handler is one report, even with the same context object."""
    threadcrash.instrument(**otel.providers)
    loop = asyncio.new_event_loop()
    try:
        loop.set_exception_handler(quiet)
        context: dict[str, Any] = {"message": "twice", "exception": ValueError("again")}
        loop.call_exception_handler(context)
        loop.call_exception_handler(context)
    finally:
        loop.close()
    assert len(otel.spans()) == 2


def test_the_wrapped_handler_still_looks_like_the_loops_own(otel: Otel) -> None:
    """Introspection finds the handler's name and, through ``__wrapped__``, the original."""
    threadcrash.instrument(**otel.providers)
    method = asyncio.BaseEventLoop.call_exception_handler
    assert method is not ORIGINAL
    assert method.__qualname__ == "BaseEventLoop.call_exception_handler"
    assert inspect.unwrap(method) is ORIGINAL
