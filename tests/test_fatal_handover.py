"""The ``fatal`` source hands ``faulthandler`` back as it found it, and picks a default folder."""

from __future__ import annotations

import faulthandler
import fcntl
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import threadcrash
from tests.conftest import InternalErrors
from tests.otel import Otel
from threadcrash._lifecycle import current
from threadcrash._sources._fatal import FatalSource, file_key

pytestmark = pytest.mark.usefixtures("restore_faulthandler")


def real_stderr() -> TextIO:
    assert sys.__stderr__ is not None
    return sys.__stderr__


@pytest.fixture
def crash_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A crash directory and a service name of the test's own."""
    monkeypatch.setenv("THREADCRASH_CRASH_DIR", str(tmp_path))
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    return tmp_path


def test_faulthandler_that_was_on_is_on_again_after_uninstrument(
    crash_dir: Path, otel: Otel
) -> None:
    """A program that ran with ``faulthandler`` on gets it back when threadcrash lets go."""
    faulthandler.enable(real_stderr(), all_threads=True)
    threadcrash.instrument(sources="fatal", **otel.providers)
    assert list(crash_dir.iterdir()) == [crash_dir / f"checkout.{os.getpid()}.crash"]
    threadcrash.uninstrument()
    assert faulthandler.is_enabled()
    assert list(crash_dir.iterdir()) == []


def test_faulthandler_that_was_off_stays_off_after_uninstrument(
    crash_dir: Path, otel: Otel
) -> None:
    """A program that never turned ``faulthandler`` on does not find it on afterwards."""
    faulthandler.disable()
    threadcrash.instrument(sources="fatal", **otel.providers)
    assert faulthandler.is_enabled()
    threadcrash.uninstrument()
    assert not faulthandler.is_enabled()


def test_uninstrument_with_a_closed_stderr_does_not_raise(
    crash_dir: Path, otel: Otel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A daemon that closed its stderr can still uninstrument; ``faulthandler`` just stays off."""
    faulthandler.enable(real_stderr(), all_threads=True)
    threadcrash.instrument(sources="fatal", **otel.providers)
    closed = (tmp_path / "stderr").open("w")
    closed.close()
    monkeypatch.setattr(sys, "__stderr__", closed)
    threadcrash.uninstrument()
    assert not faulthandler.is_enabled()


@pytest.fixture
def temporary_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own temporary directory, and no crash directory set (request it before otel)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    return tmp_path


def test_without_a_crash_directory_files_go_under_the_temporary_directory(
    temporary_dir: Path, otel: Otel
) -> None:
    """With no ``THREADCRASH_CRASH_DIR``, crash files live in ``threadcrash`` under TMPDIR."""
    threadcrash.instrument(sources="fatal", **otel.providers)
    own = temporary_dir / "threadcrash" / f"checkout.{os.getpid()}.crash"
    assert own.exists()
    assert (own.parent.stat().st_mode & 0o777) == 0o700
    threadcrash.uninstrument()
    assert not own.exists()


def own_source() -> FatalSource:
    installation = current()
    assert installation is not None
    (source,) = installation.sources
    assert isinstance(source, FatalSource)
    return source


def test_a_live_process_holds_a_lock_on_its_own_crash_file(crash_dir: Path, otel: Otel) -> None:
    """While this process runs, no other start of the service can take its file as a dead one's."""
    threadcrash.instrument(sources="fatal", **otel.providers)
    own = crash_dir / f"checkout.{os.getpid()}.crash"
    with own.open("rb") as other, pytest.raises(BlockingIOError):
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_after_uninstrument_the_source_has_no_crash_file(crash_dir: Path, otel: Otel) -> None:
    """``uninstrument()`` leaves the fatal source without a file, and a second close is harmless."""
    threadcrash.instrument(sources="fatal", **otel.providers)
    source = own_source()
    threadcrash.uninstrument()
    assert source.path is None
    faulthandler.enable(real_stderr())
    source.uninstall()  # nothing left to close: faulthandler is not touched
    assert faulthandler.is_enabled()


def test_uninstrument_after_the_crash_directory_was_removed(crash_dir: Path, otel: Otel) -> None:
    """A crash directory removed under a running process does not make ``uninstrument()`` fail."""
    threadcrash.instrument(sources="fatal", **otel.providers)
    shutil.rmtree(crash_dir)
    threadcrash.uninstrument()
    assert not crash_dir.exists()


def test_the_warning_for_an_unusable_directory_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, otel: Otel
) -> None:
    """The warning names the directory and the system's reason, in its own words."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    wanted = str(blocker / "crashes")
    monkeypatch.setenv("THREADCRASH_CRASH_DIR", wanted)
    with pytest.warns(threadcrash.ConfigurationWarning) as seen:
        threadcrash.instrument(sources="fatal", **otel.providers)
    (warning,) = seen
    assert str(warning.message) == (
        f"threadcrash: the fatal source is off: cannot use the crash directory {wanted!r} "
        "(Not a directory)"
    )
    assert own_source().path is None


def test_a_crash_directory_with_a_nul_byte_gives_a_warning(otel: Otel) -> None:
    """A NUL byte in ``crash_dir`` is bad input: one warning, the fatal source off, no error."""
    with pytest.warns(threadcrash.ConfigurationWarning, match="embedded null (character|byte)"):
        threadcrash.instrument(sources="fatal", crash_dir="crashes\0here", **otel.providers)
    assert own_source().path is None


class BrokenResourceProvider(TracerProvider):
    """A tracer provider whose ``resource`` cannot be read."""

    @property
    def resource(self) -> Resource:
        raise RuntimeError("resource unavailable")


def test_a_provider_that_fails_to_name_the_service_turns_only_the_fatal_source_off(
    crash_dir: Path, otel: Otel, internal_errors: InternalErrors
) -> None:
    """If the service's name cannot be read, the fatal source is off, noted as our own error."""
    providers = {**otel.providers, "tracer_provider": BrokenResourceProvider()}
    threadcrash.instrument(sources="fatal", **providers)
    assert own_source().path is None
    assert list(crash_dir.iterdir()) == []
    assert [where for where, _ in internal_errors.seen] == ["fatal source"]
    assert "RuntimeError: resource unavailable" in internal_errors.seen[0][1]


@pytest.mark.parametrize(
    ("service", "key"),
    [
        ("checkout", "checkout"),
        ("shop/checkout api:v2", "shop_checkout_api_v2"),
        ("x" * 150, "x" * 100),
        ("", "unknown_service"),
    ],
)
def test_crash_files_are_named_after_the_service_made_safe(service: str, key: str) -> None:
    """The service name becomes the files' name: other characters become ``_``, 100 at most."""
    assert file_key(service) == key


@pytest.mark.parametrize("enabled", [True, False])
def test_a_fatal_source_that_could_not_start_leaves_faulthandler_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, otel: Otel, enabled: bool
) -> None:
    """After a fatal source that never started, ``uninstrument()`` leaves faulthandler as it was."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("THREADCRASH_CRASH_DIR", str(blocker / "crashes"))
    faulthandler.disable()
    if enabled:
        faulthandler.enable(real_stderr())
    with pytest.warns(threadcrash.ConfigurationWarning):
        threadcrash.instrument(sources="fatal", **otel.providers)
    threadcrash.uninstrument()
    assert faulthandler.is_enabled() == enabled


def test_a_program_that_closed_the_crash_file_descriptor_can_still_uninstrument(
    crash_dir: Path, otel: Otel
) -> None:
    """A daemon that closes every descriptor it did not open itself can still uninstrument."""
    threadcrash.instrument(sources="fatal", **otel.providers)
    own = crash_dir / f"checkout.{os.getpid()}.crash"
    descriptor = next(int(fd.name) for fd in Path("/proc/self/fd").iterdir() if fd.resolve() == own)
    os.close(descriptor)
    threadcrash.uninstrument()
    assert not own.exists()
