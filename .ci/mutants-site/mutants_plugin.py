"""pytest plugin of the mutation session (``-p mutants_plugin``).

In mutmut's stats run it credits a test with what its children reached (``mutants_children.py``);
in a mutant's run it skips a mutant judged equivalent and keeps only the tests in the module's
scope (``mutants_judged.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from mutants_children import FOLDER, record_in_children
from mutants_judged import in_scope, is_mutant, load_equivalents, matching, scope_of

SKIPPED = 34  # mutmut's exit code for "skipped"
# tests that look for the caller's frame, which mutmut hides behind a trampoline of its own
NOT_UNDER_MUTMUT = frozenset(
    ("test_settings_env.py::test_a_bad_value_warning_points_at_the_line_that_called_instrument",)
)


def pytest_configure(config: pytest.Config) -> None:
    """In mutmut's stats run, give the test's children a folder to record into."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return  # a mutant's run: which tests to run is known already
    folder = tempfile.mkdtemp(prefix="mutants-children-")
    os.environ[FOLDER] = folder
    record_in_children(os.getpid(), folder)

    def clean_up() -> None:
        os.environ.pop(FOLDER, None)
        shutil.rmtree(folder, ignore_errors=True)

    config.add_cleanup(clean_up)


@pytest.hookimpl(tryfirst=True)  # before mutmut's own hook stores what the test reached
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Count what this test's children reached as reached by the test."""
    folder = os.environ.get(FOLDER)
    if not folder:
        return
    from mutmut.state import state  # noqa: PLC0415 - only in the stats run

    for path in Path(folder).iterdir():
        state()._stats.update(path.read_text("utf-8").split())
        path.unlink()


Keep = Callable[[pytest.Item], bool]


def _keep(config: pytest.Config, items: list[pytest.Item], kept: Keep) -> None:
    """Deselect, as ``-k`` would, the items ``kept`` refuses."""
    removed = [item for item in items if not kept(item)]
    if removed:
        config.hook.pytest_deselected(items=removed)
        items[:] = [item for item in items if kept(item)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a mutant's run: stop at once if it is judged equivalent, else keep the scope's tests."""
    _keep(config, items, lambda item: f"{item.path.name}::{item.name}" not in NOT_UNDER_MUTMUT)
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if not is_mutant(mutant):
        return
    if matching(load_equivalents(), mutant) is not None:
        pytest.exit("judged equivalent in .ci/mutants-equivalent.toml", returncode=SKIPPED)
    patterns = scope_of(mutant)
    if patterns is not None:
        _keep(config, items, lambda item: in_scope(patterns, item.path.name))
