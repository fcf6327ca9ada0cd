"""The ``threadcrash`` command: ``threadcrash demo`` and friends."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _positive_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``threadcrash`` command."""
    parser = argparse.ArgumentParser(prog="threadcrash", description="Make thread crashes visible.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run a small service whose worker threads crash on purpose",
        description="Run a small service whose worker threads crash on purpose, and print "
        "threadcrash's structlog events to stdout. With OTEL_EXPORTER_OTLP_ENDPOINT set, the "
        "reports are also exported over OTLP.",
    )
    demo.add_argument(
        "--crashes", type=_count, default=5, help="crashes before exiting; 0 runs forever (5)"
    )
    demo.add_argument(
        "--interval", type=_positive_float, default=0.5, help="seconds between crashes (0.5)"
    )
    demo.add_argument(
        "--format",
        choices=("console", "json"),
        default="console",
        help="console: one short line per event, each crash's traceback as lines under it; "
        "json: one JSON object per line, every key (console)",
    )
    run = commands.add_parser(
        "run",
        help="run a program with threadcrash instrumented from its first line",
        description="Run COMMAND (e.g. `python app.py`) with threadcrash instrumented before "
        "the program's first line, configured from the environment (THREADCRASH_* and OTEL_*). "
        "The program replaces this process: its exit code, stdout and stderr are its own. "
        "Python programs it starts are instrumented too.",
    )
    run.add_argument(
        "program", nargs=argparse.REMAINDER, metavar="COMMAND", help="the program and its arguments"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        # start-up: each command imports only what it runs
        from ._run import run  # noqa: PLC0415

        return run(args.program)
    if args.command == "demo":
        # start-up: each command imports only what it runs
        from ._demo import run_demo  # noqa: PLC0415

        return run_demo(crashes=args.crashes, interval=args.interval, fmt=args.format)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
