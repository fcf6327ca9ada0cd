"""The ``main`` source in its odd cases: ``chain=False``, a hook called by hand, a hostile type."""

from __future__ import annotations

import sys
from typing import Any

import threadcrash
from tests.conftest import InternalErrors
from tests.otel import Otel
from threadcrash import _lifecycle, _sources
from threadcrash._sources._main import MainSource

Call = tuple[Any, ...]


def crash_main(error: BaseException) -> None:
    """Hand ``error`` to ``sys.excepthook`` as the interpreter does for an uncaught exception."""
    try:
        raise error
    except BaseException as caught:
        sys.excepthook(type(caught), caught, caught.__traceback__)


def previous_hook() -> list[Call]:
    """Install a previous ``sys.excepthook`` that records its arguments instead of printing."""
    calls: list[Call] = []
    sys.excepthook = lambda *args: calls.append(args)
    return calls


def test_the_crash_names_the_function_that_raised(otel: Otel) -> None:
    """The report of a main-thread crash points at the innermost frame, as CPython prints it."""
    previous_hook()
    threadcrash.instrument(**otel.providers)
    crash_main(ValueError("the end"))
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["code.function.name"] == "crash_main"
    assert str(attributes["code.file.path"]).endswith("test_main_source_edges.py")


def test_chain_false_does_not_pass_a_reported_crash_on(otel: Otel) -> None:
    """With ``chain=False`` a reported crash stops with us: the previous hook is not called."""
    calls = previous_hook()
    threadcrash.instrument(chain=False, **otel.providers)
    crash_main(ValueError("reported"))
    assert len(otel.spans()) == 1
    assert calls == []


def test_chain_false_still_passes_on_what_it_does_not_report(otel: Otel) -> None:
    """With ``chain=False``, a Ctrl-C (not reported) still reaches the previous hook."""
    calls = previous_hook()
    threadcrash.instrument(chain=False, **otel.providers)
    crash_main(KeyboardInterrupt())
    assert otel.spans() == []
    assert len(calls) == 1
    assert calls[0][0] is KeyboardInterrupt


def test_a_hook_called_with_the_exception_for_its_type_still_reports(otel: Otel) -> None:
    """``sys.excepthook(exc, exc, tb)`` by hand (not a class first): reported, then passed on."""
    calls = previous_hook()
    threadcrash.instrument(**otel.providers)
    error = ValueError("by hand")
    try:
        raise error
    except ValueError:
        sys.excepthook(error, error, error.__traceback__)  # type: ignore[arg-type]
    (span,) = otel.spans()
    assert (span.attributes or {})["threadcrash.source"] == "main"
    assert len(calls) == 1
    assert calls[0][1] is error


class Unreadable:
    """A 'type' that raises when ``issubclass`` looks at its bases."""

    @property
    def __bases__(self) -> tuple[type, ...]:
        raise RuntimeError("no bases to read")


def test_a_type_that_raises_when_inspected_is_noted_and_passed_on(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """A hostile type argument never makes the hook raise; the previous hook still gets it."""
    calls = previous_hook()
    threadcrash.instrument(**otel.providers)
    error = ValueError("hostile type")
    strange = Unreadable()
    try:
        raise error
    except ValueError:
        sys.excepthook(strange, error, error.__traceback__)  # type: ignore[arg-type]
    assert [args[0] for args in calls] == [strange]
    ((where, text),) = internal_errors.seen
    assert where == "sys.excepthook"
    assert "RuntimeError: no bases to read" in text


def test_a_source_from_the_table_reports_through_the_reporter_it_is_given(otel: Otel) -> None:
    """A hook source built by the sources table reports through the reporter it was built with."""
    previous_hook()
    threadcrash.instrument(sources="thread", **otel.providers)
    installation = _lifecycle.current()
    assert installation is not None
    source = _sources._hook(MainSource)(installation.reporter, lambda: "unused")
    source.install()
    try:
        crash_main(ValueError("through the table"))
    finally:
        source.uninstall()
    (span,) = otel.spans()
    assert (span.attributes or {})["threadcrash.source"] == "main"
