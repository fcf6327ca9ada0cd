"""``threadcrash run COMMAND``: exec the program with our ``sitecustomize`` on its path."""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

BOOTSTRAP = str(Path(__file__).resolve().parent / "_bootstrap")


def environment(environ: MutableMapping[str, str]) -> dict[str, str]:
    """``environ`` with the bootstrap directory first on ``PYTHONPATH`` (once)."""
    env = dict(environ)
    entries = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    entries = [entry for entry in entries if entry != BOOTSTRAP]
    env["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP, *entries])
    return env


def run(command: Sequence[str]) -> int:
    """Replace this process with ``command``; return an exit status only if that fails."""
    program = list(command)
    if program[:1] == ["--"]:
        program = program[1:]
    if not program:
        sys.stderr.write("threadcrash run: nothing to run (threadcrash run -- python app.py)\n")
        return 2
    env = environment(os.environ)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(program[0], program, env)
    except FileNotFoundError:
        sys.stderr.write(f"threadcrash run: command not found: {program[0]}\n")
        return 127
    except PermissionError:
        sys.stderr.write(f"threadcrash run: permission denied: {program[0]}\n")
        return 126
