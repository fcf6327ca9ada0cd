"""Stack traces at the edges: recursion, very deep stacks, source only a loader knows, groups."""

from __future__ import annotations

import builtins
import importlib.abc
import importlib.util
import sys
import traceback
from typing import Any

import pytest

from threadcrash._format import Frame
from threadcrash._record import Limits, ThreadFacts, build_record

LIMITS = Limits(message=4096, stacktrace=1_000_000)
THREAD = ThreadFacts("worker", 1, 2)
GROUP: Any = vars(builtins).get("ExceptionGroup")  # new in 3.11


def stacktrace_of(exc: BaseException) -> str:
    record = build_record(
        type(exc), exc, exc.__traceback__, source="thread", thread=THREAD, limits=LIMITS
    )
    return record.exception_stacktrace


def caught(function: Any, *args: Any) -> BaseException:
    try:
        function(*args)
    except BaseException as error:
        return error
    raise AssertionError("no exception")


def recurse(depth: int) -> None:
    if depth == 0:
        raise ValueError("bottom")
    recurse(depth - 1)


def zigzag(depth: int) -> None:
    if depth == 0:
        raise ValueError("bottom")
    if depth % 2:
        zigzag(depth - 1)  # odd: this line
    else:
        zigzag(depth - 1)  # even: that line


@pytest.mark.parametrize(
    ("depth", "repeated"),
    [
        (4, "  [Previous line repeated 1 more time]\n"),
        (10, "  [Previous line repeated 7 more times]\n"),
    ],
)
def test_recursion_is_collapsed_as_cpython_does(depth: int, repeated: str) -> None:
    """A frame repeated N times is shown 3 times, then "repeated N-3 more time(s)"."""
    text = stacktrace_of(caught(recurse, depth))
    line = f"line {recurse.__code__.co_firstlineno + 3}, in recurse\n"
    assert text.count(line) == 3
    assert repeated in text
    assert text.count("Previous line repeated") == 1


def test_alternating_lines_of_one_function_are_not_collapsed() -> None:
    """Recursion from two different lines of one function shows every frame."""
    text = stacktrace_of(caught(zigzag, 6))
    assert text.count(", in zigzag\n") == 7
    assert "Previous line repeated" not in text


def test_a_very_deep_stack_keeps_the_innermost_200_frames() -> None:
    """Past 200 distinct frames, the outer ones are counted in one line, not shown."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 2000))
    try:
        text = stacktrace_of(caught(zigzag, 300))
    finally:
        sys.setrecursionlimit(limit)
    assert text.count(", in zigzag\n") == 200
    # 301 zigzag frames and this module's caught(): 302 distinct frames, 102 left out
    assert "  ... [102 outer frames omitted]\n" in text


class StringLoader(importlib.abc.Loader):
    """A loader that has the source of its module in memory only (a zip, a database, a REPL)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def get_source(self, name: str) -> str:
        return self.source

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        code = compile(self.source, "<memory>/plugin.py", "exec")
        exec(code, module.__dict__)


def test_a_frame_whose_source_only_its_loader_knows_shows_that_source() -> None:
    """The source line of a module loaded from memory is read through its loader."""
    source = "def explode():\n    raise KeyError('from memory')\n"
    spec = importlib.util.spec_from_loader("threadcrash_test_plugin", StringLoader(source))
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    text = stacktrace_of(caught(module.explode))
    assert 'File "<memory>/plugin.py", line 2, in explode\n' in text
    assert "    raise KeyError('from memory')\n" in text


def test_a_frame_without_a_line_number_shows_no_source() -> None:
    """A frame whose line is unknown is printed without a source line under it."""
    code = test_a_frame_without_a_line_number_shows_no_source.__code__
    stack: list[Frame] = [(__file__, None, "somewhere", code, globals())]
    error = ValueError("lost line")
    record = build_record(
        ValueError, error, None, source="thread", thread=THREAD, limits=LIMITS, stack=stack
    )
    assert record.exception_stacktrace == (
        "Traceback (most recent call last):\n"
        f'  File "{__file__}", line None, in somewhere\n'
        "ValueError: lost line\n"
    )


@pytest.mark.skipif(GROUP is None, reason="ExceptionGroup is new in 3.11")
def test_an_exception_group_is_printed_as_cpython_prints_it() -> None:
    """A group's stack trace is CPython's own rendering of it, character for character."""
    group = caught(lambda: (_ for _ in ()).throw(GROUP("jobs failed", [ValueError("one")])))
    assert stacktrace_of(group) == "".join(traceback.format_exception(group))


@pytest.mark.skipif(GROUP is None, reason="ExceptionGroup is new in 3.11")
def test_a_group_that_cannot_be_rendered_is_its_type_and_message() -> None:
    """A group whose members cannot be read is summed up in one line, and nothing raises."""

    class Unreadable(GROUP):  # type: ignore[misc]
        @property
        def exceptions(self) -> Any:
            raise RuntimeError("members lost")

    group = Unreadable("jobs failed", [ValueError("one")])
    assert (
        stacktrace_of(group)
        == f"{__name__}.{Unreadable.__qualname__}: jobs failed (1 sub-exception)\n"
    )


def test_an_exception_of_a_script_is_named_without_main() -> None:
    """A class defined in the script run as __main__ is printed as CPython prints it: Boom."""
    boom = type("Boom", (Exception,), {"__module__": "__main__"})
    assert stacktrace_of(caught(_raise, boom("it broke"))).endswith("\nBoom: it broke\n")


def test_an_exception_without_a_message_is_its_type_alone() -> None:
    """``raise KeyError()`` ends its stack trace with ``KeyError``, without a colon."""
    assert stacktrace_of(caught(_raise, KeyError())).endswith("\nKeyError\n")


def _raise(error: BaseException) -> None:
    raise error


class Worker:
    def run(self) -> None:
        raise ValueError("in a method")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="code objects know their qualname from 3.11")
def test_a_crash_in_a_method_names_the_class_too() -> None:
    """code.function.name of a crash in a method is ``Worker.run``, not ``run``."""
    error = caught(Worker().run)
    record = build_record(
        ValueError, error, error.__traceback__, source="thread", thread=THREAD, limits=LIMITS
    )
    assert record.code_function == "Worker.run"
