"""CPython's own test suites pass with threadcrash instrumented at start-up, as they do without.

Each suite runs under ``threadcrash run`` (so every hook is installed before the first line),
exporting over OTLP/HTTP to the receiver on 127.0.0.1, with ``python -m test``. A test that fails
there must fail without threadcrash too: those alone are run again without it. The receiver
must have got crash reports, so the suites really ran with threadcrash in front of CPython's
hooks. They need CPython's ``test`` package (Debian's ``libpython3.X-testsuite``, which the
Debian root of ``.ci/debian-root`` holds for 3.14 and 3.15).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

# issue 9: CPython's tests of the thread excepthook, with ours chained in front of CPython's
EXCEPTHOOK_TESTS = ["ExceptHookTests", "ThreadingExceptionTests", "test_no_refcycle_through_target"]
# issue 12: the suites closest to what threadcrash hooks
SUITES = [
    "test_threading",
    "test_thread",
    "test_asyncio",
    "test_concurrent_futures",
    "test_sys",
    "test_faulthandler",
]
# Tests that see what instrument() starts or imports: the first counts the threads left after
# fork(), the second expects `concurrent.futures` not yet imported at start-up. They run on their
# own, with threadcrash exporting, and pass because instrument() starts and imports nothing.
START_UP_SENSITIVE = {
    "test_threading": ["test_clear_threads_states_after_fork"],
    "test_concurrent_futures": ["test_import_interpreter_pool_executor"],
}
SUITE_TIMEOUT = 1200.0
ROOT = Path(__file__).resolve().parent.parent


def _require_cpython_tests() -> None:
    if importlib.util.find_spec("test.test_threading") is None:
        message = (
            f"CPython's test package is not installed for {sys.executable} "
            "(Debian: libpython3.X-testsuite; the root of .ci/debian-root has it)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _failed(junit: Path) -> set[str]:
    """``module.Class.test`` of every test the JUnit file records as failed or in error."""
    if not junit.exists():
        return set()
    failed: set[str] = set()
    for case in ET.parse(junit).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            name, owner = case.get("name") or "", case.get("classname")
            failed.add(name if owner in (None, "None", "") else f"{owner}.{name}")
    return failed


def _run_suite(
    command: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a suite in a session of its own, its output in files, within ``SUITE_TIMEOUT``.

    A suite leaves helpers behind (a forkserver, a resource tracker) that would hold an output
    pipe open after the suite ended; files are not waited on, and the session is ended after.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            command, stdout=out, stderr=err, text=True, env=env, cwd=cwd, start_new_session=True
        )
        try:
            returncode = process.wait(timeout=SUITE_TIMEOUT)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, returncode, out.read(), err.read())


def _regrtest(
    tmp_path: Path,
    tag: str,
    tests: list[str],
    options: list[str],
    *,
    receiver: OtlpReceiver | None,
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -m test TESTS OPTIONS`` (under ``threadcrash run`` when given a receiver)."""
    junit = tmp_path / f"{tag}.xml"
    command = [sys.executable, "-m", "test", *tests, *options, "--junit-xml", str(junit)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "THREADCRASH_"))}
    if receiver is not None:
        command = [sys.executable, "-m", "threadcrash", "run", "--", *command]
        env.update(receiver.env(OTEL_SERVICE_NAME=f"cpython-{tag}"))
    return _run_suite(command, env, tmp_path), _failed(junit)


def _passes_as_without_threadcrash(
    tmp_path: Path, tag: str, tests: list[str], options: list[str]
) -> int:
    """Run the tests with threadcrash; any failure must fail without it too. Crashes reported."""
    with OtlpReceiver() as receiver:
        result, failed = _regrtest(tmp_path, tag, tests, options, receiver=receiver)
        if result.returncode != 0:
            assert failed, f"python -m test {tests} failed:\n{result.stdout[-4000:]}"
            again = tmp_path / f"{tag}.failed.txt"
            again.write_text("\n".join(sorted(failed)) + "\n")
            _, failed_without = _regrtest(
                tmp_path, f"{tag}-without", tests, ["--matchfile", str(again)], receiver=None
            )
            only_with = failed - failed_without
            assert not only_with, (
                f"fail only with threadcrash: {sorted(only_with)}\n{result.stdout[-4000:]}"
            )
        return len(receiver.spans("threadcrash.crash"))


def _excepthook_tests(receiver: OtlpReceiver | None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tests.cpython_excepthooks", *EXCEPTHOOK_TESTS]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "THREADCRASH_"))}
    if receiver is None:
        command.append("--without")
    else:
        env.update(receiver.env(OTEL_SERVICE_NAME="cpython-excepthooks"))
    return _run_suite(command, env, ROOT)


def test_cpythons_excepthook_tests_pass_with_threadcrash_in_front() -> None:
    """CPython's tests of ``threading.excepthook`` pass with threadcrash in front of its hook."""
    _require_cpython_tests()
    without = _excepthook_tests(None)
    assert without.returncode == 0, without.stderr[-4000:]
    with OtlpReceiver() as receiver:
        result = _excepthook_tests(receiver)
        assert result.returncode == 0, result.stderr[-4000:]
        crashes = receiver.wait_for(lambda r: r.spans("threadcrash.crash"), timeout=10)
    assert crashes, "no crash reached the receiver: threadcrash was not in front"
    ran = without.stderr.count(" ... ok")
    assert ran >= 15
    assert result.stderr.count(" ... ok") == ran


@pytest.mark.parametrize("suite", SUITES)
def test_cpythons_suite_passes_with_threadcrash(tmp_path: Path, suite: str) -> None:
    """A whole CPython suite passes with threadcrash instrumented, as it does without."""
    _require_cpython_tests()
    options = ["--timeout", "600"]
    for name in START_UP_SENSITIVE.get(suite, []):
        options += ["-i", name]
    crashes = _passes_as_without_threadcrash(tmp_path, suite, [suite], options)
    print(f"{suite}: {crashes} crash reports")


@pytest.mark.parametrize(
    ("suite", "name"), [(k, n) for k, names in START_UP_SENSITIVE.items() for n in names]
)
def test_cpythons_start_up_sensitive_tests_pass_with_threadcrash(
    tmp_path: Path, suite: str, name: str
) -> None:
    """CPython's tests that look at threads and imports at start-up pass with threadcrash."""
    _require_cpython_tests()
    if "interpreter_pool" in name and sys.version_info < (3, 14):
        pytest.skip("InterpreterPoolExecutor is new in Python 3.14")
    with OtlpReceiver() as receiver:
        result, failed = _regrtest(tmp_path, name, [suite], ["-m", name], receiver=receiver)
    assert result.returncode == 0, sorted(failed)
