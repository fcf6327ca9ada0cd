"""Mutation testing of the core: run mutmut, then print a score per module.

Run it through nox from the repository's root: ``python3 -m nox -f .ci/noxfile.py -s mutants-3.13``
(extra arguments are mutmut's mutant names or globs, e.g. ``-- "threadcrash._gate*"``).

mutmut copies the tree into ``mutants/`` and mutates the copy. Tests that start a Python
subprocess must import that copy too, so ``mutants/src`` goes first on ``PYTHONPATH``; the folder
exists before the interpreter starts, or the import system would remember it as missing. Then
comes ``.ci/mutants-site``: what a test's child processes reach counts for that test
(``mutants_children.py``), for the modules whose code only a child runs.

A survivor is judged equivalent (no behaviour can tell it from the original) only when it is
listed in ``.ci/mutants-equivalent.toml`` with the reason; the score leaves those out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):  # the session runs on the newest Python
    import tomllib

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / ".ci" / "mutants-equivalent.toml"
TARGET = 0.90
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
NOT_RUN = {"not checked", "skipped"}
_NAME = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


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


def load_equivalents() -> list[Equivalent]:
    """The reviewed equivalent mutants, each with its reason."""
    if not EQUIVALENTS.exists():
        return []
    data = tomllib.loads(EQUIVALENTS.read_text("utf-8"))
    return [Equivalent(**entry) for entry in data.get("equivalent", [])]


def changed_lines(mutant: str) -> tuple[str, str]:
    """The line a mutant removes and the line it adds, stripped."""
    shown = mutmut("show", mutant)
    removed = [line[1:].strip() for line in shown if line[:1] == "-" and line[:3] != "---"]
    added = [line[1:].strip() for line in shown if line[:1] == "+" and line[:3] != "+++"]
    return " ".join(removed), " ".join(added)


def matching(equivalents: list[Equivalent], mutant: str) -> Equivalent | None:
    """The reviewed entry that describes this survivor, if any."""
    if all(entry.module != module_of(mutant) for entry in equivalents):
        return None  # no need to ask mutmut for the change (a second per survivor)
    original, changed = changed_lines(mutant)
    for entry in equivalents:
        if entry.module == module_of(mutant) and (entry.original, entry.mutant) == (
            original,
            changed,
        ):
            return entry
    return None


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
        if status in NOT_RUN:
            continue
        if status in KILLED:
            tally[module]["killed"] += 1
            continue
        entry = matching(equivalents, mutant)
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
        print(
            f"{module:<34} {counts['killed']:>7} {counts['survived']:>9} {counts['no tests']:>9} "
            f"{counts['equivalent']:>11} {score:>7.1%}"
        )
    if judged:
        print("\nJudged equivalent:")
        for mutant, entry in judged:
            print(f"  {mutant}: {entry.original!r} -> {entry.mutant!r}: {entry.reason}")
    if survivors:
        print("\nSurvivors (mutmut show NAME):")
        for line in survivors:
            print(f"  {line}")
    print(f"\nTarget: {TARGET:.0%} killed per module, equivalents excluded.")
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
