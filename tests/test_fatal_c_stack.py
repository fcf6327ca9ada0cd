"""3.14's faulthandler dumps the C stack too: the report stays bounded, Python stacks first."""

from __future__ import annotations

from threadcrash._record import Limits
from threadcrash._sources._fatal import parse

PYTHON_PART = """\
Fatal Python error: Segmentation fault

Thread 0x00007f45e04996c0 [Thread-1 (idle)] (most recent call first):
  File "/srv/app/worker.py", line 5 in idle
  File "/usr/lib/python3.15/threading.py", line 1161 in run

Current thread 0x00007f45e08a0780 [python3.15] (most recent call first):
  File "/usr/lib/python3.15/ctypes/__init__.py", line 613 in string_at
  File "/srv/app/main.py", line 8 in crash
  File "/srv/app/main.py", line 9 in <module>
"""
C_PART = "\nCurrent thread's C stack trace (most recent call first):\n" + "".join(
    f'  Binary file "/usr/lib/x86_64-linux-gnu/libc.so.6", at +0x{n:x} [0x7f45e08e{n:04x}]\n'
    for n in range(400)
)
LIMITS = Limits(4096, 32768)


def test_the_c_stack_changes_neither_location_nor_fingerprint() -> None:
    """With or without the C stack, a crash has the same code location and fingerprint."""
    with_c = parse(PYTHON_PART + C_PART, pid=1, limits=LIMITS)
    without_c = parse(PYTHON_PART, pid=1, limits=LIMITS)
    assert with_c.fingerprint == without_c.fingerprint
    assert (with_c.code_function, with_c.code_file, with_c.code_line) == (
        "string_at",
        "/usr/lib/python3.15/ctypes/__init__.py",
        613,
    )
    assert with_c.thread_id == 0x7F45E08A0780


def test_a_long_c_stack_is_cut_and_the_python_stacks_are_kept_first() -> None:
    """A stack trace limit smaller than the dump cuts the C stack, never the Python stacks."""
    limit = len(PYTHON_PART) + 500
    record = parse(PYTHON_PART + C_PART, pid=1, limits=Limits(4096, limit))
    assert len(record.exception_stacktrace) <= limit
    assert record.exception_stacktrace.startswith(PYTHON_PART)
    assert "C stack trace" in record.exception_stacktrace
