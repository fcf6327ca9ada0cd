"""What a test's child processes reach, counted for that test while mutmut collects its stats.

mutmut learns which tests reach which function in one run of the tests ("stats"), each function
recording its calls in the test's own process. A child process that a test starts (a fresh
interpreter, a fork, a ``multiprocessing`` child) runs the mutated copy too, but its calls were
never seen, so code that only a child runs showed as "no tests". During the stats run:

- every child records each function of ``IN_CHILDREN`` it reaches into a file of its own, at
  once (a forked child may end by ``os._exit``): ``sitecustomize`` starts this in every new
  interpreter, and a fork inherits it;
- the pytest plugin in ``mutants_plugin.py`` adds what a test's children recorded to what the
  test reached, before mutmut stores it.

``IN_CHILDREN`` names the functions whose work only a child process shows: code that runs
only in a child (or in a wrapper a child calls), and what a fatal crash or a fork reveals. The
stats run takes only the slow tests marked ``mutants``, and only these functions' mutants run
them too; everything else is judged by the fast tier alone, as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable

_FATAL = "threadcrash._sources._fatal."
_PROCESS = "threadcrash._sources._process."
IN_CHILDREN = frozenset(
    (
        # a forked child opens its own crash file; a clean exit removes it; where and how
        # faulthandler writes shows only when a process dies of a signal
        _FATAL + "x__after_fork_in_child",
        _FATAL + "xǁFatalSourceǁafter_fork_in_child",
        _FATAL + "xǁFatalSourceǁ_at_exit",
        _FATAL + "xǁFatalSourceǁinstall",
        _FATAL + "xǁFatalSourceǁ_open",
        _FATAL + "xǁFatalSourceǁ_close",
        _FATAL + "xǁFatalSourceǁuninstall",
        # a spawned child instruments itself; the wrappers run in the program that starts the
        # process (start) and in the child (_bootstrap, run)
        _PROCESS + "x__instrument_child",
        _PROCESS + "xǁChildSetupǁ__init__",
        _PROCESS + "xǁChildSetupǁ__reduce__",
        _PROCESS + "x__wrap_start",
        _PROCESS + "x__wrap_bootstrap",
        _PROCESS + "x__reporting_run",
        _PROCESS + "xǁProcessSourceǁreport",
        _PROCESS + "xǁProcessSourceǁat_child_end",
    )
)
# wrappers built when instrument() patches multiprocessing, and run only in the processes it
# starts: the test's own call (building the wrapper) does not count, or every mutant of theirs
# would run the whole fast tier, which cannot kill it, before the slow tests
CHILD_ONLY = frozenset((_PROCESS + "x__wrap_start", _PROCESS + "x__wrap_bootstrap"))
FOLDER = "MUTANTS_CHILD_HITS"  # where the children write; in the environment they inherit


def record_in_children(owner: int | None, folder: str) -> None:
    """Children write the calls they make into ``folder``; ``owner`` records as mutmut does."""
    from mutmut.mutation import trampoline  # noqa: PLC0415 - only in the stats run

    original: Callable[..., None] = trampoline.record_trampoline_hit
    written: set[str] = set()

    def record(name: str, caller: str | None = None) -> None:
        if os.getpid() == owner:
            if name not in CHILD_ONLY:
                original(name, caller=caller)
        elif name in IN_CHILDREN and name not in written:
            written.add(name)
            with open(os.path.join(folder, str(os.getpid())), "a", encoding="utf-8") as file:
                file.write(name + "\n")

    trampoline.record_trampoline_hit = record  # type: ignore[assignment]


def in_new_interpreter() -> None:
    """A child of the stats run records what it reaches (called by ``sitecustomize``)."""
    folder = os.environ.get(FOLDER)
    if folder and os.environ.get("MUTANT_UNDER_TEST") == "stats":
        record_in_children(None, folder)
