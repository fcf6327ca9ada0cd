"""Fatal signals (segfault, abort): ``faulthandler`` writes into a per-process crash file.

A process that dies of a signal cannot report itself, so ``faulthandler`` dumps every thread's
stack into ``<crash_dir>/<service>.<pid>.crash`` and the next ``instrument()`` of the same service
reports what a dead process left there, then removes the file. Each live process holds an
exclusive ``flock`` on its own file: a file whose lock can be taken belongs to a dead process
(no pid check, so pid reuse cannot fool it, and two starting processes cannot both take it).
A clean exit removes its own file; a forked child opens its own.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Callable
from typing import IO, Any

from .. import _fork, _format
from .._errors import warn
from .._internal import record_internal_error
from .._record import CrashRecord, Limits
from .._reporter import Reporter

fcntl: Any
try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: crash files are written but never claimed
    fcntl = None

SUFFIX = ".crash"
PID_ATTRIBUTE = "threadcrash.fatal.pid"
SIGNALS = {
    "Segmentation fault": "SIGSEGV",
    "Aborted": "SIGABRT",
    "Floating-point exception": "SIGFPE",
    "Floating point exception": "SIGFPE",
    "Bus error": "SIGBUS",
    "Illegal instruction": "SIGILL",
}
_FATAL_LINE = re.compile(r"^Fatal Python error: (.*)$", re.MULTILINE)
_CURRENT = re.compile(r"^Current thread (0x[0-9a-fA-F]+)", re.MULTILINE)
_FRAME = re.compile(r'^  File "(.*)", line (\d+) in (.*)$')
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_READ = 1 << 20

_active: FatalSource | None = None


def default_directory() -> str:
    """``threadcrash`` under the temporary directory."""
    return os.path.join(tempfile.gettempdir(), "threadcrash")


def file_key(service: str) -> str:
    """Make the service name safe as part of a file name."""
    return _UNSAFE.sub("_", service)[:100] or "unknown_service"


def parse(text: str, *, pid: int | None, limits: Limits, timestamp_ns: int = 0) -> CrashRecord:
    """One crash file's dump as a record: signal as the type, the dump as the stack trace."""
    fatal = _FATAL_LINE.search(text)
    message = fatal.group(1).strip() if fatal else (text.strip().splitlines() or ["fatal"])[0]
    signal_name = SIGNALS.get(message, "FatalError")
    current = _CURRENT.search(text)
    thread_id = int(current.group(1), 16) if current else None
    frames: list[tuple[str, int, str]] = []
    if current:
        for line in text[current.end() :].splitlines()[1:]:
            match = _FRAME.match(line)
            if match is None:
                break
            frames.append((match.group(1), int(match.group(2)), match.group(3)))
    digest = hashlib.blake2b(signal_name.encode(), digest_size=8)
    for path, _, function in reversed(frames):
        digest.update(b"\0" + f"{os.path.basename(path)}:{function}".encode("utf-8", "replace"))
    innermost = frames[0] if frames else None
    return CrashRecord(
        source="fatal",
        exception_type=signal_name,
        exception_message=_format.truncate(_format.clean(message), limits.message),
        exception_stacktrace=_format.truncate(_format.clean(text), limits.stacktrace),
        fingerprint=digest.hexdigest(),
        thread_name=None,
        thread_id=thread_id,
        thread_native_id=None,
        code_function=None if innermost is None else _format.clean(innermost[2]),
        code_file=None if innermost is None else _format.clean(innermost[0]),
        code_line=None if innermost is None else innermost[1],
        fatal=True,
        timestamp_ns=timestamp_ns,
        extra={} if pid is None else {PID_ATTRIBUTE: pid},
    )


def _claim(path: str) -> tuple[str, int] | None:
    """Read and remove a dead process's file: (text, mtime), or None if its owner is alive."""
    if fcntl is None:
        return None
    with open(path, "rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None  # its process is alive
        try:
            if os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino:
                return None  # claimed and removed by another process meanwhile
        except FileNotFoundError:
            return None
        mtime = os.fstat(handle.fileno()).st_mtime_ns
        data = handle.read(_MAX_READ)
        os.unlink(path)
    return data.decode("utf-8", "backslashreplace"), mtime


class FatalSource:
    """Opt-in: enables ``faulthandler`` into this process's crash file."""

    def __init__(self, reporter: Reporter, service_name: Callable[[], str]) -> None:
        """``service_name`` names the crash files; the lifecycle knows it, asked at install."""
        self._reporter = reporter
        self._service_name = service_name
        settings = reporter.settings
        self._directory = settings.crash_dir or default_directory()
        self._limits = reporter.limits
        self._key = ""
        self._file: IO[bytes] | None = None
        self._path: str | None = None
        self._was_enabled = False

    def install(self) -> None:
        global _active
        try:
            self._key = file_key(self._service_name())
            os.makedirs(self._directory, mode=0o700, exist_ok=True)
            self.report_leftovers()
            self._was_enabled = faulthandler.is_enabled()
            self._open()
        except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
            warn(
                f"threadcrash: the fatal source is off: cannot use the crash directory "
                f"{self._directory!r} ({getattr(error, 'strerror', None) or error})"
            )
            return
        except Exception as error:
            record_internal_error("fatal source", error)
            return
        _active = self
        atexit.register(self._at_exit)
        _fork.in_child(_after_fork_in_child)

    def uninstall(self) -> None:
        global _active
        if _active is self:
            _active = None
        atexit.unregister(self._at_exit)
        self._close(remove=True)
        stderr = sys.__stderr__
        if self._was_enabled and stderr is not None:
            with contextlib.suppress(Exception):
                faulthandler.enable(stderr, all_threads=True)

    @property
    def path(self) -> str | None:
        """Path of this process's crash file, while installed."""
        return self._path

    def report_leftovers(self) -> None:
        """Report and remove the crash files of dead processes of this service."""
        prefix = self._key + "."
        for entry in sorted(os.listdir(self._directory)):
            middle = entry[len(prefix) : -len(SUFFIX)]
            if not (entry.startswith(prefix) and entry.endswith(SUFFIX) and middle.isdecimal()):
                continue
            try:
                claimed = _claim(os.path.join(self._directory, entry))
            except OSError as error:
                record_internal_error("crash file", error)
                continue
            if claimed is None or not claimed[0].strip():
                continue  # alive, or a process that was killed without a dump
            text, mtime = claimed
            record = parse(text, pid=int(middle), limits=self._limits, timestamp_ns=mtime)
            self._reporter.emit(record)

    def _open(self) -> None:
        path = os.path.join(self._directory, f"{self._key}.{os.getpid()}{SUFFIX}")
        handle = open(path, "wb")  # noqa: SIM115 - stays open for faulthandler until uninstall
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._file, self._path = handle, path
        faulthandler.enable(handle, all_threads=True)

    def _close(self, *, remove: bool) -> None:
        handle, path = self._file, self._path
        self._file = self._path = None
        if handle is None:
            return
        faulthandler.disable()
        if remove and path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
        with contextlib.suppress(Exception):
            handle.close()

    def _at_exit(self) -> None:
        self._close(remove=True)

    def after_fork_in_child(self) -> None:
        """In a forked child: drop the parent's file (without removing it), open our own."""
        try:
            self._close(remove=False)
            self._open()
        except Exception as error:
            record_internal_error("fatal source after fork", error)


def _after_fork_in_child() -> None:
    source = _active
    if source is not None:
        source.after_fork_in_child()
