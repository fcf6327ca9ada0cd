"""The suite's own habits, checked: every test says what it proves."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_test_has_a_docstring() -> None:
    """Each test function carries a one-line docstring in the words a user would use."""
    missing = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if node.name.startswith("test_") and not ast.get_docstring(node):
                missing.append(f"{path.relative_to(TESTS)}::{node.name}")
    assert missing == []
