"""After a report, nothing of ours keeps the exception, its frames or the thread alive."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

import threadcrash
from tests.otel import Otel


class Payload:
    """An object that can be weakly referenced: a frame local, or hung on the exception."""


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Only reference counting may free things: a cycle would keep them alive."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def crash_and_collect_refs(otel: Otel | None = None) -> dict[str, weakref.ref[Any]]:
    refs: dict[str, weakref.ref[Any]] = {}

    def make_error() -> ValueError:
        error = ValueError("boom")
        hung = Payload()
        refs["hung"] = weakref.ref(hung)
        error.payload = hung  # type: ignore[attr-defined]
        return error

    def body() -> None:
        local = Payload()
        refs["local"] = weakref.ref(local)
        raise make_error()  # not kept in a local: that would be a cycle of the test's own making

    thread = threading.Thread(target=body, name="leaky")
    refs["thread"] = weakref.ref(thread)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    del thread
    return refs


def alive(refs: dict[str, weakref.ref[Any]]) -> list[str]:
    return sorted(name for name, ref in refs.items() if ref() is not None)


@pytest.mark.usefixtures("no_gc")
def test_without_threadcrash_nothing_survives() -> None:
    """The control: CPython alone frees the frame local, the hung object and the thread."""
    threading.excepthook = lambda args: None
    assert alive(crash_and_collect_refs()) == []


@pytest.mark.usefixtures("no_gc")
def test_all_signals_hold_nothing(otel: Otel) -> None:
    """Span, log record, counter and structlog event emitted; the originals are all freed."""
    captured: list[dict[str, Any]] = []

    def keep(_logger: object, _method: str, event: Any) -> Any:
        captured.append(event)  # a processor that keeps every event dict, like a queue
        raise structlog.DropEvent

    structlog.configure(processors=[keep])
    threadcrash.instrument(chain=False, **otel.providers)
    refs = crash_and_collect_refs(otel)
    assert len(otel.spans()) == 1
    assert len(otel.logs()) == 1
    assert otel.total() == 1
    assert len(captured) == 1
    assert alive(refs) == []


@pytest.mark.usefixtures("no_gc")
def test_chained_default_hook_also_holds_nothing(
    otel: Otel, capsys: pytest.CaptureFixture[str]
) -> None:
    """With CPython's hook chained (the default), the traceback is printed and still freed."""
    threadcrash.instrument(**otel.providers)
    refs = crash_and_collect_refs(otel)
    assert "ValueError: boom" in capsys.readouterr().err
    assert alive(refs) == []
