"""Mutation testing of the core: run mutmut, then print a score per module.

Run it through nox from the repository's root: ``python3 -m nox -f .ci/noxfile.py -s mutants-3.13``
(extra arguments are mutmut's mutant names or globs, e.g. ``-- "threadcrash._gate*"``).

mutmut copies the tree into ``mutants/`` and mutates the copy. Tests that start a Python
subprocess must import that copy too, so ``mutants/src`` goes first on ``PYTHONPATH``; the folder
exists before the interpreter starts, or the import system would remember it as missing. Then
comes ``.ci/mutants-site``: what a test's child processes reach counts for that test
(``mutants_children.py``), for the modules whose code only a child runs.

A mutant is judged equivalent (no behaviour can tell it from the original) only when it is
listed in ``.ci/mutants-equivalent.toml`` with the reason; the score leaves those out, and the
workers do not run their tests. The modules in ``.ci/mutants-scope.toml`` run only their own test
files; their scores are lower bounds (``.ci/mutants-site/mutants_judged.py``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".ci" / "mutants-site"))
from mutants_judged import (  # noqa: E402 - the folder is on the path from here
    SCOPE,
    Equivalent,
    load_equivalents,
    matching,
    module_of,
    scope_of,
)

TARGET = 0.90
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
_NAME = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


def mutmut(*args: str) -> list[str]:
    """Run a mutmut command and return its output lines."""
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.splitlines()


def report(statuses: dict[str, str]) -> bool:
    """Print the score per module; True if every module reaches the target."""
    equivalents = load_equivalents()
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    judged: list[tuple[str, Equivalent]] = []
    survivors: list[str] = []
    for mutant, status in sorted(statuses.items()):
        module = module_of(mutant)
        if status in KILLED:
            tally[module]["killed"] += 1
            continue
        if status == "not checked":
            continue
        # the worker skips a mutant judged equivalent without running its tests
        entry = matching(equivalents, mutant)
        if entry is None and status == "skipped":
            continue
        if entry is not None:
            tally[module]["equivalent"] += 1
            judged.append((mutant, entry))
        else:
            # "no tests": no test of the tier reaches the line; it counts as a survivor
            tally[module]["no tests" if status == "no tests" else "survived"] += 1
            survivors.append(f"{mutant} ({status})")
    all_met = True
    print(
        f"\n{'module':<34} {'killed':>7} {'survived':>9} {'no tests':>9} {'equivalent':>11}"
        f" {'score':>7}"
    )
    for module, counts in sorted(tally.items()):
        counted = counts["killed"] + counts["survived"] + counts["no tests"]
        score = counts["killed"] / counted if counted else 1.0
        all_met &= score >= TARGET
        scoped = "*" if scope_of(module) is not None else ""
        print(
            f"{module:<34} {counts['killed']:>7} {counts['survived']:>9} {counts['no tests']:>9} "
            f"{counts['equivalent']:>11} {score:>7.1%}{scoped}"
        )
    if judged:
        print("\nJudged equivalent:")
        for mutant, entry in judged:
            print(f"  {mutant}: {entry.original!r} -> {entry.mutant!r}: {entry.reason}")
    if survivors:
        print("\nSurvivors (mutmut show NAME):")
        for line in survivors:
            print(f"  {line}")
    print(f"\n* ran only the test files {SCOPE.name} gives it: a lower bound")
    print(f"Target: {TARGET:.0%} killed per module, equivalents excluded.")
    return all_met


def main(argv: list[str]) -> int:
    """Run mutmut over the configured modules (or the names given), then report."""
    (ROOT / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    path = [str(ROOT / "mutants" / "src"), str(ROOT / ".ci" / "mutants-site")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    run = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", *argv], check=False, cwd=ROOT, env=env
    )
    if run.returncode != 0:
        print(f"mutmut run failed with exit code {run.returncode}", file=sys.stderr)
        return run.returncode
    statuses: dict[str, str] = {}
    for line in mutmut("results", "--all", "true"):
        match = _NAME.match(line)
        if match:
            statuses[match["name"]] = match["status"]
    return 0 if report(statuses) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
