"""What redaction costs: per crash against CPython's hook, and false positives on real code.

1. Per crash, microseconds: CPython's ``threading.excepthook`` (stderr to ``/dev/null``) and
   threadcrash's hook with redaction off, with it on for a crash seen before (its frames and
   message redacted from the cache), and with it on for a crash whose message is new every time
   (the message and exception line redacted from scratch), and with nothing cached at all (the
   first crash of its kind). Ratio against CPython's hook: target <= 1.0.
2. The source-line policy's false positives: every line of the standard library's own ``.py``
   files, put as the source line of a stack trace frame, counting the lines whose text the
   default rules change, and those the source-line policy alone changes.
3. The worst hostile input: seconds for 1 MB of each kind of near-match (linear time).
"""

from __future__ import annotations

import io
import itertools
import os
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import TextIO

import structlog

import threadcrash
from benchmarks._common import interleaved, providers
from threadcrash import _redact, _secrets


def _validate(order: dict[str, int]) -> None:
    raise ValueError(f"order {order['id']} could not be processed")


def _handle(order: dict[str, int]) -> None:
    _validate(order)


def _args(order_id: int) -> threading.ExceptHookArgs:
    try:
        _handle({"id": order_id})
    except ValueError as error:
        return threading.ExceptHookArgs(
            [ValueError, error, error.__traceback__, threading.current_thread()]
        )
    raise AssertionError("unreachable")


def per_crash(devnull: TextIO) -> None:
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(io.StringIO()),
        cache_logger_on_first_use=True,
    )
    repeated = _args(7)
    fresh = itertools.count(1_000_000)
    cpython = threading.__excepthook__
    hooks = {}
    for defaults in (False, True):
        threadcrash.instrument(chain=False, rate_limit=0, redact_defaults=defaults, **providers())
        hooks[defaults] = threading.excepthook
        threadcrash.uninstrument()

    def run_cpython(count: int) -> None:
        saved, sys.stderr = sys.stderr, devnull
        try:
            for _ in range(count):
                cpython(repeated)
        finally:
            sys.stderr = saved

    def runner(defaults: bool, new_message: bool, cold: bool = False) -> object:
        hook = hooks[defaults]

        def run(count: int) -> None:
            hook.active = True  # type: ignore[attr-defined]
            for _ in range(count):
                if cold:
                    _redact._cache.clear()
                hook(_args(next(fresh)) if new_message else repeated)
            hook.active = False  # type: ignore[attr-defined]

        return run

    result = interleaved(
        {
            "cpython": run_cpython,
            "off": runner(False, False),  # type: ignore[dict-item]
            "on, seen before": runner(True, False),  # type: ignore[dict-item]
            "on, new message": runner(True, True),  # type: ignore[dict-item]
            "on, nothing cached": runner(True, True, cold=True),  # type: ignore[dict-item]
        },
        rounds=20,
        per_round=100,
    )
    base = result["cpython"]
    print(f"python {sys.version.split()[0]}; per crash, microseconds (median of 20 rounds)")
    for name, seconds in result.items():
        print(f"  {name:<22} {seconds * 1e6:>9.1f}   ratio {seconds / base:5.2f}")
    print("  ratio = / CPython's default hook printing the same crash; target <= 1.0")


def false_positives() -> None:
    root = Path(sysconfig.get_paths()["stdlib"])
    lines = policy = rules = 0
    examples: list[str] = []
    for path in sorted(root.glob("*.py")) + sorted(root.glob("*/*.py")):
        if "test" in path.parts or "site-packages" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            lines += 1
            frame = f'  File "{path}", line 1, in f\n    {line}\n'
            if list(_secrets._source_lines(frame)):
                policy += 1
                if len(examples) < 5:
                    examples.append(line[:100])
            if _redact._redact_text(frame) != frame:
                rules += 1
    print(f"standard library ({root}): {lines} source lines (tests excluded)")
    print(f"  changed by the source-line policy alone: {policy} ({policy / lines:.3%})")
    print(f"  changed by all default rules:            {rules} ({rules / lines:.3%})")
    for example in examples:
        print(f"    e.g. {example}")


def hostile() -> None:
    units = ["passwordpassword", "://a:", "eyJaaaaaaaaaa.", "Cookie: a=1;", "password=(((("]
    print("1 MB of near-matches, seconds:")
    for unit in units:
        text = unit * (1_000_000 // len(unit))
        start = time.perf_counter()
        _redact._redact_text(text)
        print(f"  {unit!r:<22} {time.perf_counter() - start:6.2f}")


def main() -> None:
    with open(os.devnull, "w") as devnull:
        per_crash(devnull)
    false_positives()
    hostile()


if __name__ == "__main__":
    main()
