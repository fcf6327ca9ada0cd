"""The public namespace is exactly what ``__all__`` says, and nothing private leaks into it."""

from __future__ import annotations

import threadcrash


def test_all_is_exactly_the_public_names() -> None:
    """Every public attribute is in ``__all__`` and every name in ``__all__`` exists."""
    public = {name for name in vars(threadcrash) if not name.startswith("_")}
    public |= {"__version__"}
    assert set(threadcrash.__all__) == public


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
