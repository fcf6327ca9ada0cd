"""``threadcrash demo`` as a new user runs it: a readable console, JSON lines, the README."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import clean_env, run_python
from threadcrash._cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CARETS = re.compile(r"^ +[~^]+ *$")  # Python 3.11+ marks the failing expression under its line
# the last line of each of the demo's tracebacks, in the order of its jobs
LAST_LINES = [
    "ValueError: invalid literal for int() with base 10: 'order-1'",
    "KeyError: 'customer-2'",
]


def run_demo(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the demo in a fresh interpreter, with none of the library's variables set."""
    result = run_python(
        ["-m", "threadcrash", "demo", "--crashes", "2", "--interval", "0", *args],
        clean_env(drop=("NO_COLOR", "FORCE_COLOR"), **env),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result


def crash_blocks(lines: list[str]) -> list[list[str]]:
    """Each ``thread crashed`` line with the lines under it, up to the next event line."""
    blocks: list[list[str]] = []
    for line in lines:
        if "thread crashed" in line:
            blocks.append([line])
        elif blocks and not blocks[-1][-1].startswith(tuple(LAST_LINES)):
            blocks[-1].append(line)
    return blocks


@pytest.mark.parametrize("env", [{}, {"FORCE_COLOR": "1"}], ids=["plain", "colours"])
@pytest.mark.slow
def test_console_shows_a_short_line_per_event_and_each_traceback_as_lines(
    env: dict[str, str],
) -> None:
    """By default every event is one short line and each crash's traceback a block under it."""
    lines = run_demo(**env).stdout.splitlines()
    text = "\n".join(lines)
    assert "\\n" not in text
    assert ("\x1b[" in text) is bool(env)
    plain = [ANSI.sub("", line) for line in lines]
    blocks = crash_blocks([line for line in plain if not CARETS.match(line)])
    assert len(blocks) == 2
    for block, last in zip(blocks, LAST_LINES, strict=True):
        head, *traceback = block
        assert len(head) <= 130, head
        assert traceback[0] == "Traceback (most recent call last):"
        assert traceback[-1] == last
        assert all(line.startswith("  File ") for line in traceback[1:-1:2])
    events = [line for line in plain if re.match(r"\d\d:\d\d:\d\d ", line)]
    assert len(events) == 6  # started, 2 x (accepted, crashed), finished
    assert all(len(line) <= 130 for line in events)
    under = [
        raw
        for raw, line in zip(lines, plain, strict=True)
        if line not in events and not CARETS.match(line)
    ]
    assert len(under) == sum(len(block) - 1 for block in blocks)  # nothing but the tracebacks
    assert not any("\x1b[" in line for line in under)  # the traceback itself is never coloured


@pytest.mark.slow
def test_console_crash_line_carries_the_trace_of_its_order() -> None:
    """The crash line shows the same ``trace_id`` as the order that started its thread."""
    lines = run_demo().stdout.splitlines()

    def trace_ids(event: str) -> list[str]:
        return [re.findall(r"trace_id=([0-9a-f]{32})", line)[0] for line in lines if event in line]

    accepted = trace_ids("order accepted")
    assert len(set(accepted)) == 2
    assert trace_ids("thread crashed") == accepted


@pytest.mark.slow
def test_json_prints_one_object_per_line_with_the_traceback_under_exception() -> None:
    """``--format json``: every line one JSON object; a crash's traceback is one string field."""
    events = [json.loads(line) for line in run_demo("--format", "json").stdout.splitlines()]
    assert [event["event"] for event in events] == [
        "demo started",
        "order accepted",
        "thread crashed",
        "order accepted",
        "thread crashed",
        "demo finished",
    ]
    crashes = [event for event in events if event["event"] == "thread crashed"]
    for crash, last in zip(crashes, LAST_LINES, strict=True):
        assert crash["exception"].startswith("Traceback (most recent call last):\n")
        assert crash["exception"].endswith("\n" + last)
        assert "exception.stacktrace" not in crash
        assert crash["level"] == "error"
        assert {"thread.id", "threadcrash.fingerprint", "span_id", "code.line.number"} <= set(crash)


def test_an_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """``--format xml`` stops with argparse's usage error naming the choices, before any demo."""
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--format", "xml"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "argument --format: invalid choice: 'xml'" in captured.err
    assert "console" in captured.err
    assert "json" in captured.err


# what changes from run to run, and what it is replaced with
VARYING = [
    (re.compile(r"^\d\d:\d\d:\d\d "), "HH:MM:SS "),
    (re.compile(r"\b[0-9a-f]{32}\b"), "TRACE_ID"),
    (re.compile(r"crashes=\S+ interval=\S+"), "crashes=N interval=S"),
    (re.compile(r'File "[^"]*[/\\]([^/\\"]+)", line \d+'), r'File ".../\1", line N'),
]


# CPython's own frames (threading's bootstrap) differ from version to version
STDLIB_FRAME = re.compile(r'^  File "[^"]*[/\\]threading\.py", line \d+')


def normalised(lines: list[str]) -> list[str]:
    """Lines with what changes from run to run (times, ids, options, paths, lines) blanked."""
    result = []
    skip_source = False
    for line in lines:
        if skip_source and line.startswith("    "):
            skip_source = False
            continue
        skip_source = bool(STDLIB_FRAME.match(line))
        if skip_source or CARETS.match(line):
            continue
        text = line
        for pattern, replacement in VARYING:
            text = pattern.sub(replacement, text)
        result.append(text)
    return result


@pytest.mark.slow
def test_readme_quick_start_shows_what_the_demo_prints() -> None:
    """The README's quick start shows the demo's own output, up to times, ids and paths."""
    readme = README.read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```text\n(.*?)```", quick_start, re.DOTALL)
    assert match is not None
    shown = match.group(1).splitlines()
    assert shown[-1] == "..."
    shown = shown[:-1]
    printed = run_demo().stdout.splitlines()
    expected = normalised(shown)
    assert expected == normalised(printed)[: len(expected)]
