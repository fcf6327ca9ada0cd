"""The ``unraisable`` source in its odd cases: hand-made hook calls, hostile objects, odd texts."""

from __future__ import annotations

import gc
import sys
import types
from typing import Any

import pytest

import threadcrash
from tests.conftest import InternalErrors
from tests.otel import Otel
from tests.test_unraisable_source import FailsOnDelete, capture_previous
from threadcrash._sources import _unraisable_message
from threadcrash._sources._unraisable import describe


def by_hand(**fields: Any) -> types.SimpleNamespace:
    """What a program calling ``sys.unraisablehook`` itself may pass."""
    error = ValueError("by hand")
    defaults = {
        "exc_type": ValueError,
        "exc_value": error,
        "exc_traceback": None,
        "err_msg": None,
        "object": None,
    }
    return types.SimpleNamespace(**{**defaults, **fields})


def test_the_report_names_the_function_that_raised(otel: Otel) -> None:
    """An error in ``__del__`` points at ``__del__``, the innermost frame."""
    capture_previous()
    threadcrash.instrument(**otel.providers)
    FailsOnDelete()
    gc.collect()
    (span,) = otel.spans()
    qualified = sys.version_info >= (3, 11)  # co_qualname is new in 3.11
    assert (span.attributes or {})["code.function.name"] == (
        "FailsOnDelete.__del__" if qualified else "__del__"
    )


def test_no_message_is_reported_as_cpythons_default_text(otel: Otel) -> None:
    """``err_msg=None`` (CPython's ``PyErr_WriteUnraisable``) gives "Exception ignored in"."""
    calls = capture_previous()
    threadcrash.instrument(**otel.providers)
    sys.unraisablehook(by_hand())
    (span,) = otel.spans()
    assert (span.attributes or {})["threadcrash.unraisable.message"] == "Exception ignored in"
    assert len(calls) == 1


def test_a_hand_made_call_missing_fields_is_noted_and_passed_on(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """An object without the hook's fields: no exception out of the hook, the previous gets it."""
    calls = capture_previous()
    threadcrash.instrument(**otel.providers)
    odd = types.SimpleNamespace(exc_type=ValueError)
    sys.unraisablehook(odd)
    assert calls == [odd]
    ((where, text),) = internal_errors.seen
    assert where == "sys.unraisablehook"
    assert "AttributeError" in text


def test_chain_false_an_inert_hook_still_passes_everything_on(otel: Otel) -> None:
    """``chain=False``, ours left inert under another library's hook: CPython still gets it."""
    calls = capture_previous()
    threadcrash.instrument(chain=False, **otel.providers)
    ours = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: ours(unraisable)
    threadcrash.uninstrument()
    sys.unraisablehook(by_hand())
    assert len(calls) == 1
    assert otel.spans() == []


def test_a_function_is_described_with_its_own_address() -> None:
    """A function is described by its qualified name and its own ``id()``."""
    assert describe(capture_previous) == f"<function capture_previous at {id(capture_previous):#x}>"


class HiddenName:
    """A callable whose qualified name raises when read."""

    def __getattribute__(self, name: str) -> Any:
        if name == "__qualname__":
            raise RuntimeError("no name")
        return super().__getattribute__(name)

    def __call__(self) -> None:
        """Called as a method."""


def test_an_object_that_cannot_be_described_is_just_an_object() -> None:
    """A method whose function hides its name behind an error is described as ``<object>``."""
    assert describe(types.MethodType(HiddenName(), FailsOnDelete)) == "<object>"


class NumberName:
    """A callable whose qualified name is a number."""

    def __init__(self) -> None:
        self.__qualname__ = 5

    def __call__(self) -> None:
        """Called as a method."""


def test_a_name_that_is_not_text_is_left_out_of_the_description() -> None:
    """A method whose function's qualified name is a number is described by its type only."""
    method = types.MethodType(NumberName(), FailsOnDelete)
    assert describe(method) == f"<method object at {id(method):#x}>"


@pytest.mark.parametrize(
    ("err_msg", "expected"),
    [
        (
            "Exception ignored in dict watcher callback for <function on_change at 0x1f>",
            ("Exception ignored in dict watcher callback", "<function on_change at 0x1f>"),
        ),
        (
            "Exception ignored on flushing <app.Conn object at 0xab>",
            ("Exception ignored on flushing", "<app.Conn object at 0xab>"),
        ),
        (
            "Exception ignored in: <function close at 0x2e>",
            ("Exception ignored in", "<function close at 0x2e>"),
        ),
        ("Exception ignored in MAX:", ("Exception ignored in MAX", None)),
    ],
    ids=["watcher", "unknown-text", "colon", "colon-only"],
)
def test_a_message_cpython_may_write_keeps_its_words_and_describes_its_object(
    err_msg: str, expected: tuple[str, str | None]
) -> None:
    """Its plain words are kept without the colon; a default repr after them is described."""
    assert _unraisable_message.split(err_msg) == expected
