"""Next to the exceptions instrumentation and the logging and structlog bridges: one record."""

from __future__ import annotations

import io
import logging
import logging.config
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from opentelemetry import _logs
from opentelemetry.instrumentation.exceptions import UnhandledExceptionInstrumentor
from opentelemetry.instrumentation.logging import LoggingInstrumentor
from opentelemetry.instrumentation.structlog import StructlogProcessor

import threadcrash

from .helpers import run_thread
from .otel import Otel


def crash() -> None:
    raise ValueError("worker failed")


def otel_structlog_processor(otel: Otel) -> Any:
    """OTel's structlog bridge processor (untyped), writing to the test's logger provider."""
    return StructlogProcessor(logger_provider=otel.logger_provider)  # type: ignore[no-untyped-call]


@pytest.fixture
def exceptions_instrumentor(otel: Otel) -> Iterator[UnhandledExceptionInstrumentor]:
    """opentelemetry-instrumentation-exceptions, logging to the test's logger provider.

    Undone in the mirror order of a test that instruments it first (what was wrapped last is
    unwrapped first); a test that instruments it after threadcrash undoes it itself, or our
    wrapper would stay inert in the chain for every later test.
    """
    instrumentor = UnhandledExceptionInstrumentor()  # type: ignore[no-untyped-call]
    yield instrumentor
    threadcrash.uninstrument()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.mark.parametrize("order", ["exceptions first", "threadcrash first"])
def test_one_crash_one_log_record_with_the_exceptions_instrumentation(
    order: str,
    otel: Otel,
    exceptions_instrumentor: UnhandledExceptionInstrumentor,
    request: pytest.FixtureRequest,
) -> None:
    """Whichever is instrumented first, a thread crash gives only threadcrash's log record."""
    if order == "exceptions first":
        exceptions_instrumentor.instrument(logger_provider=otel.logger_provider)
        threadcrash.instrument(**otel.providers)
    else:
        threadcrash.instrument(**otel.providers)
        exceptions_instrumentor.instrument(logger_provider=otel.logger_provider)
        request.addfinalizer(exceptions_instrumentor.uninstrument)  # before the fixture's
    run_thread(crash, name="worker-1")
    (log,) = otel.logs()
    assert log.event_name == "exception"
    assert log.attributes["thread.name"] == "worker-1"
    assert len(otel.spans()) == 1


def test_the_exceptions_instrumentation_works_again_after_uninstrument(
    otel: Otel, exceptions_instrumentor: UnhandledExceptionInstrumentor
) -> None:
    """After threadcrash.uninstrument() the exceptions instrumentation logs crashes again."""
    exceptions_instrumentor.instrument(logger_provider=otel.logger_provider)
    threadcrash.instrument(**otel.providers)
    threadcrash.uninstrument()
    run_thread(crash)
    (log,) = otel.logs()
    assert log.event_name == "ValueError"  # theirs: named after the class


def test_hooks_threadcrash_does_not_cover_keep_their_log(
    otel: Otel, exceptions_instrumentor: UnhandledExceptionInstrumentor
) -> None:
    """With THREADCRASH_SOURCES=main, thread crashes are still logged by the other library."""
    exceptions_instrumentor.instrument(logger_provider=otel.logger_provider)
    threadcrash.instrument(sources="main", **otel.providers)
    run_thread(crash)
    (log,) = otel.logs()
    assert log.event_name == "ValueError"


def test_structlog_bridge_does_not_forward_our_event(otel: Otel) -> None:
    """With OTel's structlog processor, our event is shown but exported once; others still are."""
    seen: list[dict[str, Any]] = []

    def capture(_logger: object, method: str, event: Any) -> str:
        seen.append(dict(event))
        raise structlog.DropEvent

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            otel_structlog_processor(otel),
            capture,
        ]
    )
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    structlog.get_logger("app").info("order accepted")
    records = otel.logs()
    assert [record.event_name for record in records] == ["exception", None]
    assert records[1].body == "order accepted"
    assert [event["event"] for event in seen] == ["thread crashed", "order accepted"]


@pytest.fixture
def logging_bridge(otel: Otel, otel_globals: None) -> Iterator[io.StringIO]:
    """OTel's logging handler and a console handler on root; structlog renders through logging."""
    _logs.set_logger_provider(otel.logger_provider)
    console = io.StringIO()
    console_handler = logging.StreamHandler(console)
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(console_handler)
    # LoggingInstrumentor wraps these around its handler and never unwraps them; restoring them
    # lets the handler be freed, so logging's atexit flush does not start a thread at shutdown.
    config_functions = (logging.config.fileConfig, logging.config.dictConfig, logging.basicConfig)
    instrumentor = LoggingInstrumentor()
    instrumentor.instrument(logger_provider=otel.logger_provider)
    structlog.configure(
        processors=[structlog.processors.KeyValueRenderer(key_order=["event"])],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    yield console
    instrumentor.uninstrument()
    logging.config.fileConfig, logging.config.dictConfig, logging.basicConfig = config_functions
    root.removeHandler(console_handler)
    root.setLevel(old_level)


def test_logging_bridge_does_not_forward_our_event(otel: Otel, logging_bridge: io.StringIO) -> None:
    """With OTel's logging handler, our event is printed but exported once; others still are."""
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    logging.getLogger("app").warning("disk almost full")
    records = otel.logs()
    assert [record.event_name for record in records] == ["exception", None]
    assert records[1].body == "disk almost full"
    printed = logging_bridge.getvalue()
    assert "event='thread crashed'" in printed
    assert "disk almost full" in printed


def test_uninstrument_removes_the_logging_filter(otel: Otel, logging_bridge: io.StringIO) -> None:
    """After uninstrument() no handler keeps a threadcrash filter."""
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    threadcrash.uninstrument()
    for handler in logging.getLogger().handlers:
        assert not [f for f in handler.filters if type(f).__module__.startswith("threadcrash")]


def test_structlog_from_other_threads_is_untouched_while_we_emit(otel: Otel) -> None:
    """The bridge filter is per thread: another thread's events are exported meanwhile."""
    threadcrash.instrument(**otel.providers)
    done = threading.Event()
    structlog.configure(
        processors=[
            otel_structlog_processor(otel),
            structlog.processors.KeyValueRenderer(),
        ],
        logger_factory=structlog.ReturnLoggerFactory(),
    )

    def other() -> None:
        structlog.get_logger("app").info("from another thread")
        done.set()

    run_thread(other)
    assert done.is_set()
    run_thread(crash)
    bodies = sorted(str(record.body) for record in otel.logs())
    assert bodies == ["from another thread", "worker failed"]
