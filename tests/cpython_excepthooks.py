"""Run CPython's own excepthook tests with threadcrash's hook chained in front of CPython's.

``python -m tests.cpython_excepthooks [--without] NAME...`` runs the named tests of
``test.test_threading`` with unittest and exits 0 when they pass. Those tests put CPython's
default hook back before they run (``restore_default_excepthook``); here that default has
threadcrash in front of it: the hook ``threadcrash.instrument()`` installed (configured from the
environment), which chains to CPython's. ``--without`` runs them as CPython does, for comparison.
"""

from __future__ import annotations

import importlib
import sys
import threading
import unittest
from typing import Any


def _put_ours_in_front(suite: Any) -> None:
    import threadcrash

    threadcrash.instrument()
    ours = threading.excepthook
    if ours is threading.__excepthook__:
        raise SystemExit("threadcrash did not install its hook")

    def restore_default_excepthook(testcase: unittest.TestCase) -> None:
        testcase.addCleanup(setattr, threading, "excepthook", threading.excepthook)
        threading.excepthook = ours  # CPython's default, with threadcrash in front

    suite.restore_default_excepthook = restore_default_excepthook


def main(argv: list[str]) -> int:
    """Run the tests named in ``argv``; 0 when they all pass."""
    without = "--without" in argv
    names = [arg for arg in argv if arg != "--without"]
    suite = importlib.import_module("test.test_threading")
    if not without:
        _put_ours_in_front(suite)
    loader = unittest.TestLoader()
    loader.testNamePatterns = [f"*{name}*" for name in names]
    tests = loader.loadTestsFromModule(suite)
    if tests.countTestCases() == 0:
        print(f"no test matches {names}", file=sys.stderr)
        return 2
    result = unittest.TextTestRunner(verbosity=2).run(tests)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
