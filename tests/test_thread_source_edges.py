"""The thread source in-process: odd names, odd threads, and a hook called by hand."""

from __future__ import annotations

import _thread
import sys
import threading
from types import SimpleNamespace
from typing import Any

import pytest

import threadcrash
from tests.conftest import InternalErrors
from tests.otel import Otel

needs_non_str_names = pytest.mark.skipif(
    sys.version_info >= (3, 14),
    reason="CPython 3.14+ cannot start a thread whose name is not a str",
)


class Odd(threading.Thread):
    """A thread that crashes."""

    def run(self) -> None:
        raise ValueError("odd thread")


def crash_in(thread: threading.Thread) -> None:
    thread.start()
    thread.join(30)
    assert not thread.is_alive()


class Named(bytes):
    """A bytes subclass: its methods could run anything, so it is not read as a name."""


@needs_non_str_names
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (b"\xffworker", "\\xffworker"),
        (bytearray(b"pool-1"), "pool-1"),
        (Named(b"x"), None),
        (12345, "12345"),
    ],
    ids=["bytes", "bytearray", "bytes-subclass", "int"],
)
def test_a_thread_whose_name_is_not_a_string_is_reported_under_its_text(
    otel: Otel, name: Any, expected: str | None
) -> None:
    """Bytes are decoded (bad bytes escaped), an int written out, a bytes subclass left out."""
    threadcrash.instrument(**otel.providers)
    thread = Odd()
    thread._name = name  # type: ignore[attr-defined]  # what a careless library does
    crash_in(thread)
    (log,) = otel.logs()
    assert log.attributes["exception.message"] == "odd thread"
    assert log.attributes.get("thread.name") == expected


def test_a_hook_called_for_another_thread_names_that_thread(otel: Otel) -> None:
    """A library that calls threading.excepthook for a worker reports the worker, not itself."""
    received: list[Any] = []
    threading.excepthook = received.append
    threadcrash.instrument(**otel.providers)
    worker = threading.Thread(target=lambda: None, name="worker-7")
    worker.start()
    worker.join(30)
    error = ValueError("worker failed")
    args = threading.ExceptHookArgs([ValueError, error, None, worker])
    threading.excepthook(args)
    (log,) = otel.logs()
    assert log.attributes["thread.name"] == "worker-7"
    assert log.attributes["thread.id"] == worker.ident
    assert log.attributes["threadcrash.thread.native_id"] == worker.native_id
    assert received == [args]


class Haunted(threading.Thread):
    """A thread whose missing attributes raise, as some proxies' and mocks' do."""

    def run(self) -> None:
        raise ValueError("haunted thread")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no attribute {name}")


def test_a_thread_whose_parent_cannot_be_read_is_still_reported(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """Reading the thread's parent span fails: the crash is reported without one, then chained."""
    received: list[Any] = []
    threading.excepthook = received.append
    threadcrash.instrument(**otel.providers)
    crash_in(Haunted(name="haunted"))
    (log,) = otel.logs()
    assert log.attributes["exception.message"] == "haunted thread"
    assert log.attributes["thread.name"] == "haunted"
    (span,) = otel.spans()
    assert span.parent is None
    assert len(received) == 1
    assert [where for where, _ in internal_errors.seen] == ["thread parent"]
    assert "no attribute" in internal_errors.seen[0][1]


def test_a_hook_called_with_an_incomplete_args_object_passes_it_on(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """Hand-made args without ``thread``: nothing raises, the earlier hook gets them as they are."""
    received: list[Any] = []
    threading.excepthook = received.append
    threadcrash.instrument(**otel.providers)
    args = SimpleNamespace(exc_type=ValueError, exc_value=ValueError("x"), exc_traceback=None)
    threading.excepthook(args)
    assert received == [args]
    assert otel.logs() == []
    assert [where for where, _ in internal_errors.seen] == ["threading.excepthook"]
    assert "thread" in internal_errors.seen[0][1]


def test_a_hook_called_for_a_thread_threading_does_not_know_names_the_running_thread(
    otel: Otel,
) -> None:
    """From a ``_thread`` thread, a hand call with thread=None reports that thread's own ids."""
    threadcrash.instrument(**otel.providers)
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def low_level() -> None:
        try:
            seen.append((threading.get_ident(), threading.get_native_id()))
            error = ValueError("from a _thread thread")
            threading.excepthook(threading.ExceptHookArgs([ValueError, error, None, None]))
        finally:
            done.set()

    _thread.start_new_thread(low_level, ())
    assert done.wait(30)
    (log,) = otel.logs()
    [(ident, native_id)] = seen
    assert "thread.name" not in log.attributes
    assert log.attributes["thread.id"] == ident
    assert log.attributes["threadcrash.thread.native_id"] == native_id


class Opaque(threading.Thread):
    """A thread whose ids cannot be read: one is not an int, the other raises."""

    seen: tuple[int, int] | None = None

    def run(self) -> None:
        Opaque.seen = (threading.get_ident(), threading.get_native_id())
        raise ValueError("opaque thread")

    @property
    def ident(self) -> Any:
        return "not-an-int"

    @property
    def native_id(self) -> Any:
        raise RuntimeError("no native id")


def test_a_thread_whose_ids_cannot_be_read_gets_the_running_threads_ids(otel: Otel) -> None:
    """An ident that is not an int and a native id that raises: the crashing thread's own ids."""
    threadcrash.instrument(**otel.providers)
    crash_in(Opaque(name="opaque"))
    (log,) = otel.logs()
    assert Opaque.seen is not None
    ident, native_id = Opaque.seen
    assert log.attributes["thread.name"] == "opaque"
    assert log.attributes["thread.id"] == ident
    assert log.attributes["threadcrash.thread.native_id"] == native_id


def test_a_previous_hook_of_none_falls_back_to_cpythons_own(
    otel: Otel, capsys: pytest.CaptureFixture[str]
) -> None:
    """With threading.excepthook set to None before us, CPython's default hook still prints."""
    threading.excepthook = None  # type: ignore[assignment]  # as a careless teardown leaves it
    threadcrash.instrument(**otel.providers)
    crash_in(Odd(name="orphan"))
    assert len(otel.logs()) == 1
    err = capsys.readouterr().err
    assert "Exception in thread orphan" in err
    assert "ValueError: odd thread" in err
