"""The public namespace is exactly what ``__all__`` says, and nothing private leaks into it."""

from __future__ import annotations

import inspect
import re

import pytest

import threadcrash
from tests.helpers import run_python


def test_all_is_exactly_the_public_names() -> None:
    """Every public attribute is in ``__all__`` and every name in ``__all__`` exists."""
    public = {name for name in dir(threadcrash) if not name.startswith("_")}
    public |= {"__version__"}
    assert set(threadcrash.__all__) == public
    for name in threadcrash.__all__:
        assert getattr(threadcrash, name) is not None


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    """The lazy attribute lookup answers anything else as a module normally does."""
    with pytest.raises(AttributeError, match="no attribute 'instrumnet'"):
        threadcrash.instrumnet  # noqa: B018


@pytest.mark.slow
def test_importing_threadcrash_does_not_import_the_instrumentation_base() -> None:
    """``import threadcrash`` stays light: OTel's instrumentor base loads only when asked for."""
    code = (
        "import sys, threadcrash\n"
        "assert 'opentelemetry.instrumentation.instrumentor' not in sys.modules\n"
        "threadcrash.ThreadCrashInstrumentor\n"
        "assert 'opentelemetry.instrumentation.instrumentor' in sys.modules\n"
    )
    result = run_python(["-c", code])
    assert result.returncode == 0, result.stderr


def test_all_is_sorted_and_unique() -> None:
    """``__all__`` lists each name once, in order, so additions are easy to review."""
    assert sorted(threadcrash.__all__) == threadcrash.__all__
    assert len(set(threadcrash.__all__)) == len(threadcrash.__all__)


def test_the_entry_point_names_the_instrumentor() -> None:
    """``opentelemetry-instrument`` finds ``threadcrash`` in the instrumentor entry-point group."""
    from importlib.metadata import entry_points

    found = [
        ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "threadcrash"
    ]
    assert len(found) == 1
    assert found[0].load() is threadcrash.ThreadCrashInstrumentor


def test_instrument_takes_each_setting_as_a_typed_keyword() -> None:
    """instrument() lists the three providers and every setting, keyword-only, in table order."""
    from threadcrash._api import UNSET
    from threadcrash._settings import OPTIONS

    parameters = inspect.signature(threadcrash.instrument).parameters
    providers = ["tracer_provider", "meter_provider", "logger_provider"]
    assert list(parameters) == [*providers, *(option.name for option in OPTIONS)]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    assert all(parameters[name].default is None for name in providers)
    assert all(parameters[option.name].default is UNSET for option in OPTIONS)
    assert all(p.annotation and "Any" not in str(p.annotation) for p in parameters.values())


def test_every_keyword_of_instrument_is_documented() -> None:
    """The Args section of instrument()'s docstring describes each keyword, once, in order."""
    doc = inspect.cleandoc(threadcrash.instrument.__doc__ or "")
    args = doc.split("Args:\n", 1)[1]
    documented = re.findall(r"^ {4}(\w+): ", args, re.MULTILINE)
    assert documented == list(inspect.signature(threadcrash.instrument).parameters)


def test_a_misspelled_keyword_is_a_type_error_through_the_instrumentor() -> None:
    """ThreadCrashInstrumentor().instrument(chian=False) fails as instrument() does."""
    with pytest.raises(TypeError, match="chian"):
        threadcrash.ThreadCrashInstrumentor().instrument(chian=False, skip_dep_check=True)
    assert threadcrash._lifecycle.current() is None


def test_a_keyword_given_as_none_beats_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """structlog=None (auto) given as a keyword wins over THREADCRASH_STRUCTLOG=true."""
    monkeypatch.setenv("THREADCRASH_STRUCTLOG", "true")
    threadcrash.instrument(structlog=None)
    installed = threadcrash._lifecycle.current()
    assert installed is not None
    assert installed.settings.structlog is None
    threadcrash.uninstrument()
    threadcrash.instrument()
    installed = threadcrash._lifecycle.current()
    assert installed is not None
    assert installed.settings.structlog is True
