"""Where a long stack trace is cut: at a line, keeping the innermost frames and the exception."""

from __future__ import annotations

from threadcrash import _format

HEADER = "Traceback (most recent call last):\n"
LIMIT = 256  # the smallest THREADCRASH_MAX_STACKTRACE_LENGTH
ROOM = LIMIT - len(HEADER) - 64  # what is kept of the text, before the cut at a line


def frame_line(index: int, width: int) -> str:
    line = f'  File "/app/m{index}.py", line {index}, in f'
    return line + " " * (width - len(line) - 1) + "\n"


def outer_frames(count: int) -> str:
    return "".join(frame_line(index, 60) for index in range(count))


def test_a_cut_that_falls_where_a_line_starts_keeps_that_whole_line() -> None:
    """Cut exactly at a line's start: that line is the first kept, whole, after the marker."""
    inner = "".join(frame_line(100 + index, (ROOM - 1) // 4) for index in range(4))
    assert len(inner) == ROOM - 1  # what is kept before the cut is exactly "\n" + inner
    text = HEADER + outer_frames(20) + inner
    assert text[len(text) - ROOM] == "\n"
    cut = _format.truncate_head(text, LIMIT)
    omitted = len(text) - len(inner) - len(HEADER)
    assert cut == f"{HEADER}  ... [{omitted} characters of outer frames omitted]\n{inner}"


def test_a_last_line_longer_than_the_limit_still_shows_its_end() -> None:
    """An exception line longer than the limit: its end is kept rather than nothing at all."""
    last = "ValueError: " + "x" * 400 + "!\n"
    cut = _format.truncate_head(HEADER + outer_frames(20) + last, LIMIT)
    assert len(cut) <= LIMIT
    assert cut.endswith("x!\n")
    assert last.endswith(cut.split("omitted]\n", 1)[1])


def test_a_kept_part_of_one_character_after_its_line_still_starts_at_that_line() -> None:
    """A cut whose only line break is the one before the last character keeps just that line."""
    text = HEADER + "x" * 500 + "\n!"
    cut = _format.truncate_head(text, LIMIT)
    omitted = len(text) - 1 - len(HEADER)
    assert cut == f"{HEADER}  ... [{omitted} characters of outer frames omitted]\n!"
