"""The ``fatal`` source: crash files written by ``faulthandler``, reported by the next start."""

from __future__ import annotations

import faulthandler
import os
from pathlib import Path

import pytest

import threadcrash
from tests.otel import Otel
from threadcrash._lifecycle import current
from threadcrash._record import Limits
from threadcrash._sources._fatal import FatalSource, parse

DUMP = """\
Fatal Python error: Segmentation fault

Thread 0x00007f0000000700 (most recent call first):
  File "/srv/app/worker.py", line 12 in idle

Current thread 0x00007f1234567740 (most recent call first):
  File "/usr/lib/python3.13/ctypes/__init__.py", line 524 in string_at
  File "/srv/app/main.py", line 7 in crash
  File "/srv/app/main.py", line 9 in <module>

Extension modules: _cffi_backend (total: 1)
"""
LIMITS = Limits(4096, 32768)


def test_a_dump_becomes_a_fatal_record() -> None:
    """The signal is the type, the innermost frame of the crashing thread is the code location."""
    record = parse(DUMP, pid=4242, limits=LIMITS, timestamp_ns=5)
    assert record.source == "fatal"
    assert record.fatal is True
    assert record.exception_type == "SIGSEGV"
    assert record.exception_message == "Segmentation fault"
    assert record.exception_stacktrace == DUMP
    assert record.thread_id == 0x7F1234567740
    assert (record.code_function, record.code_file, record.code_line) == (
        "string_at",
        "/usr/lib/python3.13/ctypes/__init__.py",
        524,
    )
    assert record.extra == {"threadcrash.fatal.pid": 4242}
    assert record.timestamp_ns == 5


def test_fingerprint_ignores_lines_and_directories() -> None:
    """The same crash at other line numbers, from another checkout, groups together."""
    moved = DUMP.replace("line 7", "line 70").replace("/srv/app/", "/opt/app/")
    assert (
        parse(moved, pid=1, limits=LIMITS).fingerprint
        == parse(DUMP, pid=2, limits=LIMITS).fingerprint
    )
    other = DUMP.replace("in crash", "in other")
    assert (
        parse(other, pid=1, limits=LIMITS).fingerprint
        != parse(DUMP, pid=1, limits=LIMITS).fingerprint
    )


def test_an_abort_is_named_by_its_signal() -> None:
    """``abort()`` is reported as SIGABRT."""
    record = parse(DUMP.replace("Segmentation fault", "Aborted"), pid=1, limits=LIMITS)
    assert record.exception_type == "SIGABRT"


@pytest.fixture
def crash_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give the test its own crash directory and service name (request it before `otel`)."""
    monkeypatch.setenv("THREADCRASH_CRASH_DIR", str(tmp_path))
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    return tmp_path


@pytest.mark.usefixtures("restore_faulthandler")
def test_a_dead_process_file_is_reported_and_removed(crash_dir: Path, otel: Otel) -> None:
    """A crash file left by a dead process of this service is reported once, then removed."""
    (crash_dir / "checkout.999999.crash").write_text(DUMP)
    threadcrash.instrument(sources="fatal", **otel.providers)
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["threadcrash.source"] == "fatal"
    assert attributes["exception.type"] == "SIGSEGV"
    assert attributes["threadcrash.fatal.pid"] == 999999
    (log,) = otel.logs()
    assert "Current thread" in str((log.attributes or {})["exception.stacktrace"])
    assert log.severity_text == "FATAL"
    assert otel.total() == 1
    assert not (crash_dir / "checkout.999999.crash").exists()


@pytest.mark.usefixtures("restore_faulthandler")
def test_other_services_and_live_processes_are_left_alone(crash_dir: Path, otel: Otel) -> None:
    """Another service's file, and the file of a process still running, are not touched."""
    (crash_dir / "billing.999999.crash").write_text(DUMP)
    live = crash_dir / "checkout.999998.crash"
    live.write_text("")
    import fcntl

    with live.open("rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        threadcrash.instrument(sources="fatal", **otel.providers)
    assert otel.spans() == []
    assert (crash_dir / "billing.999999.crash").exists()
    assert live.exists()


@pytest.mark.usefixtures("restore_faulthandler")
def test_own_file_exists_while_installed_and_goes_on_uninstrument(
    crash_dir: Path, otel: Otel
) -> None:
    """``faulthandler`` writes into this process's file until ``uninstrument()`` removes it."""
    threadcrash.instrument(sources="fatal", **otel.providers)
    own = crash_dir / f"checkout.{os.getpid()}.crash"
    assert own.exists()
    assert faulthandler.is_enabled()
    installation = current()
    assert installation is not None
    (source,) = installation.sources
    assert isinstance(source, FatalSource)
    assert source.path == str(own)
    threadcrash.uninstrument()
    assert not own.exists()


@pytest.mark.usefixtures("restore_faulthandler")
def test_an_empty_file_of_a_dead_process_is_removed_silently(crash_dir: Path, otel: Otel) -> None:
    """A process killed without a dump leaves an empty file: removed, nothing reported."""
    (crash_dir / "checkout.999997.crash").write_text("")
    threadcrash.instrument(sources="fatal", **otel.providers)
    assert otel.spans() == []
    assert not (crash_dir / "checkout.999997.crash").exists()


def test_fatal_is_off_by_default(otel: Otel) -> None:
    """Without opting in, no crash file is written."""
    threadcrash.instrument(**otel.providers)
    installation = current()
    assert installation is not None
    assert not any(isinstance(source, FatalSource) for source in installation.sources)


@pytest.mark.usefixtures("restore_faulthandler")
def test_an_unusable_crash_directory_gives_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, otel: Otel
) -> None:
    """A crash directory that cannot be created turns the fatal source off with a warning."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("THREADCRASH_CRASH_DIR", str(blocker / "crashes"))
    before = faulthandler.is_enabled()
    with pytest.warns(threadcrash.ConfigurationWarning, match="crash directory"):
        threadcrash.instrument(sources="fatal", **otel.providers)
    assert faulthandler.is_enabled() == before
    threadcrash.uninstrument()
