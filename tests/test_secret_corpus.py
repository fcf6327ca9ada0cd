"""No secret of the synthetic corpus reaches any signal, whichever way the crash happens.

Every case of ``tests/secret_corpus.py`` crashes for real (a thread, an asyncio callback, a
``__del__`` and a ``_thread`` thread for a message or a source line; a named thread; a named
asyncio task; a callback's arguments), and every emitted text is searched: span names,
attributes, events and status, log bodies and attributes, every metric's labels, and the keys
and values of the structlog event. Any five consecutive characters of the secret that are not
also in the text around it (or in the test files' paths) count as a leak.
"""

from __future__ import annotations

import _thread
import asyncio
import gc
import importlib.util
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import threadcrash
from tests.helpers import run_thread
from tests.otel import Otel
from tests.secret_corpus import CASES, Case
from threadcrash._redact import REDACTED

WINDOW = 5
ADDRESS = re.compile(r"0x[0-9a-f]+")


def emitted(otel: Otel, events: list[dict[str, Any]]) -> list[str]:
    """Every text of every signal: names, attribute keys and values, bodies, labels, events."""
    texts: list[str] = []
    for span in otel.spans_exporter.get_finished_spans():
        texts.append(span.name)
        texts.extend(_pair(k, v) for k, v in (span.attributes or {}).items())
        texts.append(str(span.status.description))
        for event in span.events:
            texts.append(event.name)
            texts.extend(_pair(k, v) for k, v in (event.attributes or {}).items())
    for log in otel.logs():
        texts.append(str(log.body))
        texts.append(str(log.event_name))
        texts.extend(_pair(k, v) for k, v in (log.attributes or {}).items())
    data = otel.reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data is not None else []:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                texts.append(metric.name)
                for point in metric.data.data_points:
                    texts.extend(_pair(k, v) for k, v in (point.attributes or {}).items())
    for structlog_event in events:
        texts.extend(_pair(k, v) for k, v in structlog_event.items())
    return texts


# Numbers threadcrash makes up itself (random span ids, thread idents): no input reaches them,
# and a hex or numeric secret would sometimes match them by chance.
GENERATED = frozenset({"trace_id", "span_id", "thread.id", "threadcrash.thread.native_id"})


def _pair(key: str, value: object) -> str:
    return f"{key}=" if key in GENERATED else f"{key}={value!s}"


def leaks(case: Case, texts: list[str], *noise: str) -> list[str]:
    """Pieces of the secret found in the signals that the text around it (and ``noise``) lacks.

    ``noise`` is what every report of these tests carries anyway: the file paths of the frames.
    Memory addresses (``0x7f...``, from ``id()``) are left out: hex secrets would match them.
    """
    joined = ADDRESS.sub("0x?", "\n".join(texts))
    context = "\0".join((case.text.replace(case.secret, "\0"), *noise))
    size = min(WINDOW, len(case.secret))
    pieces = {case.secret[i : i + size] for i in range(len(case.secret) - size + 1)}
    return sorted(p for p in pieces if p in joined and p not in context and p not in REDACTED)


def wait_for(otel: Otel, events: list[dict[str, Any]], count: int) -> None:
    """Reports of a ``_thread`` thread land after it finishes: wait for all signals (bounded)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        otel.total() < count or len(otel.spans()) < count or len(events) < count
    ):
        time.sleep(0.005)


class Doomed:
    def __init__(self, make: Callable[[], BaseException]) -> None:
        self.make = make

    def __del__(self) -> None:
        raise self.make()


def crash_four_ways(
    make: Callable[[], BaseException], otel: Otel, events: list[dict[str, Any]]
) -> None:
    """A real thread, an asyncio callback, a ``__del__`` and a ``_thread`` thread."""

    def raise_it() -> None:
        raise make()

    run_thread(raise_it)
    loop = asyncio.new_event_loop()
    try:
        loop.call_soon(raise_it)
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    Doomed(make)
    gc.collect()
    done = threading.Event()

    def in_thread() -> None:
        try:
            raise_it()
        finally:
            done.set()

    _thread.start_new_thread(in_thread, ())
    assert done.wait(10)
    wait_for(otel, events, 4)


_MODULE = """
def connect(*args, **kwargs):
    raise ConnectionError("refused")


smtp_login = make_client = fetch = fetch_url = decrypt = connect


def fail():
    raise RuntimeError("boom")


def b64decode(text):
    return text


def getenv(name, default=None):
    return default


os_environ = {{}}
cfg = {{}}


def crash():
    {line}
"""


def source_module(case: Case, directory: Path) -> Any:
    """A module whose ``crash()`` raises on the case's source line."""
    name = f"corpus_{case.id.replace('-', '_')}"
    path = directory / f"{name}.py"
    path.write_text(_MODULE.format(line=case.text), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def forget_a_failed_task(name: str) -> None:
    async def fails() -> None:
        raise ValueError("job failed")

    task = asyncio.ensure_future(fails())
    task.set_name(name)
    await asyncio.sleep(0.01)
    del task
    gc.collect()


@pytest.fixture
def instrumented(otel: Otel, captured_structlog: list[dict[str, Any]]) -> Iterator[None]:
    threadcrash.instrument(structlog=True, rate_limit=0, chain=False, **otel.providers)
    yield
    threadcrash.uninstrument()


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_no_byte_of_the_secret_reaches_a_signal(
    case: Case, otel: Otel, captured_structlog: list[dict[str, Any]], tmp_path: Path
) -> None:
    """A crash carrying this synthetic secret is reported on every signal without it."""
    expected = 1
    if case.carrier == "message":
        crash_four_ways(lambda: ValueError(case.text), otel, captured_structlog)
        expected = 4
    elif case.carrier == "source":
        module = source_module(case, tmp_path)
        crash_four_ways(lambda: _caught(module.crash), otel, captured_structlog)
        expected = 4
    elif case.carrier == "thread-name":
        run_thread(_raise_value_error, name=case.text)
    elif case.carrier == "task-name":
        asyncio.run(forget_a_failed_task(case.text))
    else:
        loop = asyncio.new_event_loop()
        try:
            loop.call_soon(_raise_value_error, case.secret)
            loop.call_soon(loop.stop)
            loop.run_forever()
        finally:
            loop.close()
    assert otel.total() == expected
    assert len(otel.spans()) == expected
    assert len(captured_structlog) == expected
    texts = emitted(otel, captured_structlog)
    if case.carrier != "callback-args":
        assert REDACTED in "\n".join(texts)
    assert leaks(case, texts, __file__, str(tmp_path), run_thread.__code__.co_filename) == []


def _raise_value_error(*_args: object) -> None:
    raise ValueError("worker failed")


def _caught(crash: Callable[[], None]) -> BaseException:
    """The exception ``crash()`` raises, with its traceback through the case's source line."""
    try:
        crash()
    except BaseException as error:
        return error
    raise AssertionError("crash() did not raise")


def test_the_corpus_is_big_enough_and_varied() -> None:
    """At least 150 cases, across messages, source lines, thread and task names and arguments."""
    assert len(CASES) >= 150
    assert {case.carrier for case in CASES} == {
        "message",
        "source",
        "thread-name",
        "task-name",
        "callback-args",
    }
