"""The ``unraisable`` source: where ``_thread`` crashes and ``__del__`` errors land."""

from __future__ import annotations

import _thread
import functools
import gc
import sys
import threading
import types
from typing import Any

import threadcrash
from tests.otel import Otel
from threadcrash._sources._unraisable import describe


class FailsOnDelete:
    def __del__(self) -> None:
        raise OSError("cannot close")


def capture_previous() -> list[Any]:
    """Install a previous ``sys.unraisablehook`` that records what it is given."""
    calls: list[Any] = []
    sys.unraisablehook = calls.append
    return calls


def test_error_in_del_is_reported(otel: Otel) -> None:
    """An exception raised by ``__del__`` gives one report, with the hook's message and object."""
    previous = capture_previous()
    threadcrash.instrument(**otel.providers)
    FailsOnDelete()
    gc.collect()
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["threadcrash.source"] == "unraisable"
    assert attributes["exception.type"] == "OSError"
    assert [log.body for log in otel.logs()] == ["cannot close"]
    assert isinstance(attributes["threadcrash.unraisable.message"], str)
    assert attributes["threadcrash.unraisable.message"].startswith("Exception ignored")
    assert "FailsOnDelete.__del__" in str(attributes["threadcrash.unraisable.object"])
    assert otel.total() == 1
    assert len(previous) == 1
    assert previous[0].exc_type is OSError


def test_thread_started_with_start_new_thread_is_reported(otel: Otel) -> None:
    """A crash in a ``_thread.start_new_thread`` thread carries that thread's ident."""
    capture_previous()
    threadcrash.instrument(**otel.providers)
    done = threading.Event()
    idents: list[int] = []

    def crash() -> None:
        idents.append(threading.get_ident())
        try:
            raise ValueError("raw thread")
        finally:
            done.set()

    _thread.start_new_thread(crash, ())
    assert done.wait(10)
    for _ in range(200):  # the hook runs just after the thread's last line
        if otel.spans():
            break
        threading.Event().wait(0.01)
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert [log.body for log in otel.logs()] == ["raw thread"]
    assert attributes["thread.id"] == idents[0]
    assert "thread.name" not in attributes
    # 3.13 puts the function in the message, earlier versions pass it as the object
    message = attributes["threadcrash.unraisable.message"]
    described = f"{message} {attributes.get('threadcrash.unraisable.object')}"
    assert "thread started by" in described
    assert "crash" in described


def test_uninstrument_restores_the_previous_hook(otel: Otel) -> None:
    """After ``uninstrument()`` the previous hook is back and nothing is reported."""
    previous = capture_previous()
    hook = sys.unraisablehook
    threadcrash.instrument(**otel.providers)
    threadcrash.uninstrument()
    assert sys.unraisablehook is hook
    FailsOnDelete()
    gc.collect()
    assert otel.spans() == []
    assert len(previous) == 1


def test_a_hook_installed_after_us_keeps_ours_inert(otel: Otel) -> None:
    """When another library replaced our hook, ``uninstrument()`` leaves it and ours goes quiet."""
    capture_previous()
    threadcrash.instrument(**otel.providers)
    ours = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: ours(unraisable)
    threadcrash.uninstrument()
    FailsOnDelete()
    gc.collect()
    assert otel.spans() == []


class Evil:
    """Everything that could run code or raise when described does."""

    def __repr__(self) -> str:
        raise AssertionError("repr must not be called")

    def __str__(self) -> str:
        raise AssertionError("str must not be called")

    def __getattr__(self, name: str) -> Any:
        raise AssertionError("no attribute lookup expected")


def test_description_never_calls_into_the_object() -> None:
    """The object is described by type and id only, never by its own ``repr``."""
    obj = Evil()
    assert describe(obj) == f"<tests.test_unraisable_source.Evil object at {id(obj):#x}>"


def test_description_is_bounded() -> None:
    """A function with an absurd qualified name gives a bounded description."""

    def f() -> None:
        pass

    f.__qualname__ = "x" * 100_000
    assert len(describe(f)) <= 256


def test_a_method_of_a_callable_with_no_qualified_name_is_described_by_its_type() -> None:
    """A method bound from a ``functools.partial`` (no ``__qualname__``) is still described."""
    method = types.MethodType(functools.partial(print), FailsOnDelete)
    assert describe(method) == f"<method object at {id(method):#x}>"
