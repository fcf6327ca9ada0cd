"""pytest plugin of the mutation session (``-p mutants_plugin``): see ``mutants_children.py``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from mutants_children import FOLDER, record_in_children


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
