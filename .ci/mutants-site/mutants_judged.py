"""What the mutation session decides before running a mutant: judged equivalent, and test scope.

Both the report (``.ci/mutants.py``) and the pytest plugin that mutmut's workers load
(``mutants_plugin.py``) read these, so a mutant is judged the same way in both places.

- A survivor is judged equivalent (no behaviour can tell it from the original) only when it is
  listed in ``.ci/mutants-equivalent.toml`` with the reason, matched by module and by the line
  it removes and the line it adds. The worker does not run such a mutant's tests (a survivor
  runs every test it reaches, one to two minutes for code that ``instrument()`` reaches); the
  score leaves it out either way.
- ``.ci/mutants-scope.toml`` names, per module, the test files its mutants run, of those mutmut
  picks. Without it, every mutant of a function that ``instrument()`` reaches runs nearly the
  whole fast tier. Fewer tests can only kill fewer mutants: a scoped score is a lower bound.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):  # the session runs on the newest Python
    import tomllib

ROOT = Path(__file__).resolve().parent.parent.parent
EQUIVALENTS = ROOT / ".ci" / "mutants-equivalent.toml"
SCOPE = ROOT / ".ci" / "mutants-scope.toml"


@dataclass(frozen=True)
class Equivalent:
    """A survivor no test can kill: the line it changes, what it becomes, and why that is safe."""

    module: str
    original: str
    mutant: str
    reason: str


def module_of(mutant: str) -> str:
    """``threadcrash._gate.xǁGateǁadmit__mutmut_6`` -> ``threadcrash._gate``."""
    return re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]


def is_mutant(name: str) -> bool:
    """Whether mutmut's ``MUTANT_UNDER_TEST`` names a mutant (not its stats or clean runs)."""
    return "__mutmut_" in name


def load_equivalents() -> list[Equivalent]:
    """The reviewed equivalent mutants, each with its reason."""
    if not EQUIVALENTS.exists():
        return []
    data = tomllib.loads(EQUIVALENTS.read_text("utf-8"))
    return [Equivalent(**entry) for entry in data.get("equivalent", [])]


def changed_lines(mutant: str) -> tuple[str, str]:
    """The line a mutant removes and the line it adds, stripped."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant  # noqa: PLC0415 - in mutmut's venv

    with contextlib.chdir(ROOT):  # mutmut finds its files from the repository's root
        shown = get_diff_for_mutant(mutant).splitlines()
    removed = [line[1:].strip() for line in shown if line[:1] == "-" and line[:3] != "---"]
    added = [line[1:].strip() for line in shown if line[:1] == "+" and line[:3] != "+++"]
    return " ".join(removed), " ".join(added)


def matching(equivalents: list[Equivalent], mutant: str) -> Equivalent | None:
    """The reviewed entry that describes this mutant, if any."""
    module = module_of(mutant)
    if all(entry.module != module for entry in equivalents):
        return None  # no need to read the change
    change = changed_lines(mutant)
    for entry in equivalents:
        if entry.module == module and (entry.original, entry.mutant) == change:
            return entry
    return None


def scope_of(mutant: str) -> tuple[str, ...] | None:
    """The test file patterns this mutant's tests are limited to, or None for all of them."""
    if not SCOPE.exists():
        return None
    patterns = tomllib.loads(SCOPE.read_text("utf-8")).get(module_of(mutant))
    return None if patterns is None else tuple(patterns)


def in_scope(patterns: tuple[str, ...], test_file: str) -> bool:
    """Whether a test file (its name) is one of the patterns."""
    return any(fnmatch.fnmatch(test_file, pattern) for pattern in patterns)
