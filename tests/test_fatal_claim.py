"""Claiming a dead process's crash file: its time, bytes that are not UTF-8, a file too big.

The dumps are written by ``faulthandler`` itself, into the file a dead process would have left.
"""

from __future__ import annotations

import faulthandler
import os
import re
from pathlib import Path

import pytest

import threadcrash
from tests.conftest import InternalErrors
from tests.otel import Otel
from threadcrash._record import Limits
from threadcrash._sources._fatal import parse

DEAD = "checkout.999999.crash"
LONG_AGO = 1_700_000_000_123_456_789  # 14 November 2023, in nanoseconds
LIMITS = Limits(4096, 32768)


pytestmark = pytest.mark.usefixtures("restore_faulthandler")


@pytest.fixture
def crash_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A crash directory and a service name of the test's own (request it before ``otel``)."""
    monkeypatch.setenv("THREADCRASH_CRASH_DIR", str(tmp_path))
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    return tmp_path


def dump_into(path: Path, tail: bytes = b"", *, header: bool = True) -> None:
    """What ``faulthandler`` writes for this process, then ``tail``."""
    with path.open("wb") as file:
        if header:
            file.write(b"Fatal Python error: Segmentation fault\n\n")
            file.flush()
        faulthandler.dump_traceback(file, all_threads=True)
        file.write(tail)


def stacktrace(otel: Otel) -> str:
    (log,) = otel.logs()
    return str((log.attributes or {})["exception.stacktrace"])


def test_a_crash_is_dated_when_its_process_died(crash_dir: Path, otel: Otel) -> None:
    """The report of a crash found at the next start carries the time of the crash, not now."""
    path = crash_dir / DEAD
    dump_into(path)
    os.utime(path, ns=(LONG_AGO, LONG_AGO))
    threadcrash.instrument(sources="fatal", **otel.providers)
    (span,) = otel.spans()
    assert span.start_time == LONG_AGO
    (log,) = otel.logs()
    assert log.timestamp == LONG_AGO


def test_a_dump_cut_inside_a_character_is_still_reported(crash_dir: Path, otel: Otel) -> None:
    """A dump that ends in half a UTF-8 character is reported; the stray bytes show escaped."""
    dump_into(crash_dir / DEAD, tail="café".encode()[:-1])
    threadcrash.instrument(sources="fatal", **otel.providers)
    stack = stacktrace(otel)
    assert "Current thread" in stack
    assert stack.endswith("caf\\xc3")
    assert not (crash_dir / DEAD).exists()


def test_a_huge_crash_file_is_read_up_to_its_first_mebibyte(crash_dir: Path, otel: Otel) -> None:
    """A crash file of 3 MiB is read up to 1 MiB: the cut stack trace says how much was left."""
    dump_into(crash_dir / DEAD, tail=b"x" * (3 << 20))
    threadcrash.instrument(sources="fatal", **otel.providers)
    stack = stacktrace(otel)
    assert stack.startswith("Fatal Python error: Segmentation fault")
    left = re.search(r"\.\.\. \[(\d+) more characters\]$", stack)
    assert left is not None
    assert int(left.group(1)) == (1 << 20) - len(stack)


def test_a_crash_file_without_a_fatal_error_line_is_named_by_its_first_line(
    crash_dir: Path, otel: Otel
) -> None:
    """A file holding only thread stacks is reported too, its first line as the message."""
    dump_into(crash_dir / DEAD, header=False)
    first = (crash_dir / DEAD).read_text().splitlines()[0]
    assert first.startswith(("Thread 0x", "Current thread 0x"))
    threadcrash.instrument(sources="fatal", **otel.providers)
    (span,) = otel.spans()
    assert dict(span.attributes or {})["exception.type"] == "FatalError"
    (log,) = otel.logs()
    assert log.body == first


def test_odd_entries_of_the_crash_directory_do_not_stop_the_next_report(
    crash_dir: Path, otel: Otel
) -> None:
    """Another service's file, stray files and an empty crash file are passed over."""
    dump_into(crash_dir / "billing.1.crash")
    (crash_dir / "checkout.0x1.crash").write_text("not a pid")
    (crash_dir / "checkout.notes").write_text("not a crash file")
    (crash_dir / "checkout.²³.crash").write_text("not a pid")
    (crash_dir / "checkout.1.crash").write_text("")  # killed without a dump
    dump_into(crash_dir / "checkout.2.crash")
    threadcrash.instrument(sources="fatal", **otel.providers)
    (span,) = otel.spans()
    assert dict(span.attributes or {})["threadcrash.fatal.pid"] == 2
    assert sorted(path.name for path in crash_dir.iterdir()) == [
        "billing.1.crash",
        "checkout.0x1.crash",
        f"checkout.{os.getpid()}.crash",
        "checkout.notes",
        "checkout.²³.crash",
    ]


def test_a_crash_file_that_cannot_be_read_is_noted_and_the_next_one_reported(
    crash_dir: Path, otel: Otel, internal_errors: InternalErrors
) -> None:
    """An entry that cannot be opened is an internal error; the crash files after it still go."""
    (crash_dir / "checkout.1.crash").mkdir()
    dump_into(crash_dir / "checkout.2.crash")
    threadcrash.instrument(sources="fatal", **otel.providers)
    (span,) = otel.spans()
    assert dict(span.attributes or {})["threadcrash.fatal.pid"] == 2
    ((where, text),) = internal_errors.seen
    assert where == "crash file"
    assert "IsADirectoryError" in text


NO_PYTHON_FRAME = """\
Fatal Python error: Aborted

Thread 0x00007f0000000700 (most recent call first):
  File "/srv/app/worker.py", line 12 in idle

Current thread 0x00007f1234567740 (most recent call first):
  <no Python frame>
"""


def test_a_crash_with_no_python_frame_is_reported_without_a_code_location(
    crash_dir: Path, otel: Otel
) -> None:
    """A crash in a thread running no Python code is reported, with no code location."""
    (crash_dir / DEAD).write_text(NO_PYTHON_FRAME)
    threadcrash.instrument(sources="fatal", **otel.providers)
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["exception.type"] == "SIGABRT"
    assert not any(key.startswith("code.") for key in attributes)


def test_a_crash_in_a_thread_python_does_not_know_is_reported(crash_dir: Path, otel: Otel) -> None:
    """A dump with no current Python thread is reported, with no thread id and no location."""
    (crash_dir / DEAD).write_text(NO_PYTHON_FRAME[: NO_PYTHON_FRAME.index("Current thread")])
    threadcrash.instrument(sources="fatal", **otel.providers)
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["exception.type"] == "SIGABRT"
    assert "thread.id" not in attributes
    assert not any(key.startswith("code.") for key in attributes)


def test_the_same_stack_killed_by_another_signal_is_another_crash() -> None:
    """A segfault and an abort at the same place are grouped apart; fingerprints are 16 digits."""
    segfault = parse(NO_PYTHON_FRAME.replace("Aborted", "Segmentation fault"), pid=1, limits=LIMITS)
    abort = parse(NO_PYTHON_FRAME, pid=1, limits=LIMITS)
    assert segfault.fingerprint != abort.fingerprint
    assert re.fullmatch("[0-9a-f]{16}", abort.fingerprint)
