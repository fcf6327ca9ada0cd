"""Put on ``PYTHONPATH`` by ``threadcrash run``: instrument before the program's first line.

Python imports the first ``sitecustomize`` module on its path at start-up; this one then imports
the one it hides (a system's or a virtualenv's, or ``opentelemetry-instrument``'s), so both run,
and calls ``threadcrash.instrument()``, configured from the environment.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))


def _is_here(entry: str) -> bool:
    try:
        return os.path.abspath(entry or os.curdir) == _HERE
    except (OSError, ValueError):
        return False


def _run_hidden_sitecustomize() -> None:
    ours = sys.modules.pop("sitecustomize", None)
    saved = list(sys.path)
    sys.path[:] = [entry for entry in saved if not _is_here(entry)]
    try:
        importlib.import_module("sitecustomize")
    except ImportError as error:
        if error.name != "sitecustomize":
            _report_like_site()
    except Exception:
        _report_like_site()
    finally:
        added = [entry for entry in sys.path if entry not in saved]
        sys.path[:] = saved + added
        if ours is not None:
            sys.modules["sitecustomize"] = ours


def _report_like_site() -> None:
    # what site.py does for a failing sitecustomize: say so and carry on
    if sys.flags.verbose:
        traceback.print_exc()
    else:
        error = sys.exc_info()[1]
        sys.stderr.write(
            "Error in sitecustomize; set PYTHONVERBOSE for traceback:\n"
            f"{type(error).__name__}: {error}\n"
        )


def _instrument() -> None:
    try:
        # imported only when the child process is really instrumented
        import threadcrash  # noqa: PLC0415
    except ImportError as error:
        sys.stderr.write(
            f"threadcrash run: threadcrash cannot be imported by {sys.executable} ({error}); "
            "the program runs without it\n"
        )
        return
    try:
        threadcrash.instrument()
    except Exception as error:
        sys.stderr.write(f"threadcrash run: instrument() failed, running without it: {error!r}\n")


_run_hidden_sitecustomize()
_instrument()
