"""The public namespace is exactly what ``__all__`` says, and nothing private leaks into it."""

from __future__ import annotations

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
