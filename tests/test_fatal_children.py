"""The ``fatal`` source across ``fork()``: whole programs, crash files read back from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.otlp_receiver import OtlpReceiver
from tests.test_sources_e2e import one_of_each, run_child

pytestmark = [pytest.mark.slow, pytest.mark.mutants]

DEBUG_LOG = """
    import logging
    logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
"""


def settings(crash_dir: Path) -> dict[str, str]:
    return {"THREADCRASH_SOURCES": "fatal", "THREADCRASH_CRASH_DIR": str(crash_dir)}


def test_a_parent_that_crashes_after_forking_a_worker_is_reported(tmp_path: Path) -> None:
    """A worker forked and gone does not take its parent's crash file with it."""
    crash_dir = tmp_path / "crashes"
    body = """
    import ctypes
    if sys.argv[2:] == ["crash"]:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        print(os.getpid(), flush=True)
        ctypes.string_at(0)
    """
    with OtlpReceiver() as receiver:
        crashed = run_child(tmp_path, body, receiver, args=("crash",), env=settings(crash_dir))
        assert crashed.returncode != 0
        parent_pid = int(crashed.stdout)
        # the worker's own file is left empty by os._exit: removed unreported at the next start
        own = crash_dir / f"e2e-child.{parent_pid}.crash"
        assert own.stat().st_size > 0
        restarted = run_child(tmp_path, body, receiver, env=settings(crash_dir))
        assert restarted.returncode == 0, restarted.stderr
        span, _ = one_of_each(receiver)
    assert span["attributes"]["threadcrash.fatal.pid"] == parent_pid
    assert list(crash_dir.iterdir()) == []


def test_after_uninstrument_a_forked_child_writes_no_crash_file(tmp_path: Path) -> None:
    """Once threadcrash let go, a child forked later leaves ``faulthandler`` and the disk alone."""
    crash_dir = tmp_path / "crashes"
    body = (
        DEBUG_LOG
        + """
    import faulthandler, threadcrash
    threadcrash.uninstrument()
    pid = os.fork()
    if pid == 0:
        print(faulthandler.is_enabled(), sorted(os.listdir(sys.argv[2])), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    """
    )
    result = run_child(tmp_path, body, None, args=(str(crash_dir),), env=settings(crash_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "False []"
    assert "internal error" not in result.stderr


def test_a_forked_child_that_cannot_open_its_crash_file_says_why(tmp_path: Path) -> None:
    """If the crash directory is gone, a forked child logs why it has no crash file, and runs on."""
    crash_dir = tmp_path / "crashes"
    body = (
        DEBUG_LOG
        + """
    import shutil
    shutil.rmtree(sys.argv[2])
    pid = os.fork()
    if pid == 0:
        print("child ran", flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    """
    )
    result = run_child(tmp_path, body, None, args=(str(crash_dir),), env=settings(crash_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "child ran\n"
    assert "threadcrash: threadcrash internal error in fatal source after fork:" in result.stderr
    assert "FileNotFoundError" in result.stderr


def test_after_uninstrument_faulthandler_prints_every_thread_to_stderr_again(
    tmp_path: Path,
) -> None:
    """A program run with faulthandler on gets its dump of every thread back on stderr."""
    crash_dir = tmp_path / "crashes"
    body = """
    import ctypes, faulthandler, io, threadcrash
    sys.stderr = io.StringIO()  # the application captures sys.stderr; the dump goes to fd 2
    threadcrash.uninstrument()
    gate = threading.Event()
    threading.Thread(target=gate.wait, name="idle", daemon=True).start()
    ctypes.string_at(0)
    """
    env = {**settings(crash_dir), "PYTHONFAULTHANDLER": "1"}
    result = run_child(tmp_path, body, None, env=env)
    assert result.returncode != 0
    assert "Fatal Python error: Segmentation fault" in result.stderr
    assert "Current thread 0x" in result.stderr
    assert "\nThread 0x" in result.stderr  # the idle thread too
    assert list(crash_dir.iterdir()) == []
