"""What a stack trace and its names fall back to when a type, a module or a note is odd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from threadcrash import _format

CODE = compile("pass", "/app/jobs.py", "exec")


def named(answers: dict[str, Callable[[], Any]]) -> type[BaseException]:
    """An exception class whose metaclass answers some attribute reads its own way."""

    class Meta(type):
        def __getattribute__(cls, name: str) -> Any:
            if name in answers:
                return answers[name]()
            return super().__getattribute__(name)

    return cast("type[BaseException]", Meta("OddError", (Exception,), {}))


def refuse(error: type[BaseException]) -> Callable[[], Any]:
    def read() -> Any:
        raise error("hidden")

    return read


def test_a_type_whose_name_cannot_be_read_is_named_by_a_question_mark() -> None:
    """A metaclass hiding the qualified name behind an error: the type is named ``?``."""
    assert _format.type_name(named({"__qualname__": refuse(RuntimeError)})) == "?"


def test_a_type_whose_name_is_not_text_is_named_by_a_question_mark() -> None:
    """A metaclass giving a number as the qualified name: ``module.?``, nothing else."""
    odd = named({"__qualname__": lambda: 42})
    assert _format.type_name(odd) == f"{__name__}.?"


def test_a_type_without_a_module_is_named_by_its_name_alone() -> None:
    """A metaclass hiding ``__module__`` (AttributeError): the bare qualified name."""
    assert _format.type_name(named({"__module__": refuse(AttributeError)})) == "OddError"


def test_a_type_without_a_qualified_name_is_named_by_its_name() -> None:
    """A metaclass hiding ``__qualname__`` (AttributeError): named by ``__name__``."""
    odd = named({"__qualname__": refuse(AttributeError)})
    assert _format.type_name(odd) == f"{__name__}.OddError"


def test_a_type_with_no_name_at_all_is_named_by_a_question_mark() -> None:
    """No qualified name and no name (both hidden): ``module.?``."""
    odd = named({"__qualname__": refuse(AttributeError), "__name__": refuse(AttributeError)})
    assert _format.type_name(odd) == f"{__name__}.?"


def test_a_fingerprint_never_changes_between_releases() -> None:
    """A known crash keeps its fingerprint, frames with no module too: dashboards group on it."""
    stack: list[_format.Frame] = [
        ("/app/jobs.py", 1, "run", CODE, {"__name__": "billing"}),
        ("<string>", 1, "f", CODE, {}),  # code run by exec() with bare globals: no __name__
    ]
    assert _format.fingerprint("ValueError", stack) == "6498ca4d0e682e1a"


class Note:
    """A note that is not a string, as ``exc.__notes__.append(obj)`` allows."""

    def __str__(self) -> str:
        return "retry 3 of 5"


def crash_with_note(note: object) -> str:
    error = ValueError("noted")
    error.__notes__ = [note]  # type: ignore[attr-defined]
    try:
        raise error
    except ValueError:
        pass
    stack = _format.frames(error.__traceback__)
    return _format.stacktrace(error, ValueError, error.__traceback__, stack, "noted", 10_000)


def test_a_note_that_is_not_a_string_is_shown_by_its_text() -> None:
    """A non-string note is printed by its ``str()``, as CPython prints it."""
    assert crash_with_note(Note()).endswith("ValueError: noted\nretry 3 of 5\n")


def recurse(depth: int) -> None:
    if depth == 0:
        raise ValueError("deep")
    recurse(depth - 1)


@pytest.mark.parametrize(("depth", "summary"), [(4, "1 more time]"), (5, "2 more times]")])
def test_a_repeated_frame_is_summed_up_as_cpython_does(depth: int, summary: str) -> None:
    """The same line repeated: three shown, then "[Previous line repeated N more time(s)]"."""
    try:
        recurse(depth)
    except ValueError as error:
        stack = _format.frames(error.__traceback__)
        text = _format.stacktrace(error, ValueError, error.__traceback__, stack, "deep", 10_000)
    assert f"  [Previous line repeated {summary}\n" in text
