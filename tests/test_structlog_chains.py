"""The structlog event through the processor chains people use: the stack trace under ``exception``.

Real threads crash; structlog renders with its own processors into a buffer. The internal-error
fixture fails any test in which our emission path raised.
"""

from __future__ import annotations

import io
import json
import logging
import re
from importlib.metadata import version
from typing import Any

import pytest
import structlog

import threadcrash
from tests.helpers import run_thread
from tests.otel import Otel

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STRUCTLOG = tuple(int(part) for part in version("structlog").split(".")[:2])


def crash() -> None:
    raise ValueError("worker failed")


def leaky_crash() -> None:
    raise ValueError("login failed: password=hunter2")


def configure(*processors: Any) -> io.StringIO:
    """Configure structlog as an application would, printing into a buffer."""
    output = io.StringIO()
    structlog.configure(
        processors=list(processors), logger_factory=structlog.PrintLoggerFactory(output)
    )
    return output


def logged_stacktrace(otel: Otel) -> str:
    """The bounded, redacted stack trace, as the OpenTelemetry log record carries it."""
    [log] = otel.logs()
    stacktrace = log.attributes["exception.stacktrace"]
    assert isinstance(stacktrace, str)
    return stacktrace


@pytest.fixture
def captured(otel: Otel) -> list[dict[str, Any]]:
    """The event dicts threadcrash hands to structlog, as a first processor sees them."""
    events: list[dict[str, Any]] = []

    def capture(_logger: object, method: str, event: Any) -> str:
        events.append({"_level": method, **event})
        raise structlog.DropEvent

    structlog.configure(processors=[capture])
    threadcrash.instrument(**otel.providers)
    return events


def test_the_stack_trace_is_under_exception_and_every_other_key_is_unchanged(
    otel: Otel, captured: list[dict[str, Any]]
) -> None:
    """The event has the log record's attributes, but the stack trace sits under ``exception``."""
    run_thread(crash, name="worker-1")
    [log] = otel.logs()
    [span] = otel.spans()
    assert span.context is not None
    attributes = dict(log.attributes or {})
    stacktrace = attributes.pop("exception.stacktrace")
    assert isinstance(stacktrace, str)
    assert stacktrace.endswith("ValueError: worker failed\n")
    [event] = captured
    assert event == {
        "_level": "error",
        "event": "thread crashed",
        **attributes,
        "trace_id": format(span.context.trace_id, "032x"),
        "span_id": format(span.context.span_id, "016x"),
        "exception": stacktrace.removesuffix("\n"),
    }


def test_the_exception_key_is_bounded_like_the_stack_trace(
    otel: Otel, captured: list[dict[str, Any]]
) -> None:
    """A deep stack is cut to ``max_stacktrace_length`` in the event too, innermost frames kept."""
    threadcrash.uninstrument()
    threadcrash.instrument(max_stacktrace_length=1024, **otel.providers)

    def deep(depth: int) -> None:
        if depth == 0:
            raise ValueError("at the bottom")
        deep(depth - 1)

    run_thread(lambda: deep(60))
    [event] = captured
    assert len(event["exception"]) <= 1024
    assert event["exception"].endswith("ValueError: at the bottom")
    assert event["exception"] == logged_stacktrace(otel).removesuffix("\n")


def test_the_exception_key_is_redacted(otel: Otel, captured: list[dict[str, Any]]) -> None:
    """A password in the crash's message never reaches the event's ``exception`` text."""
    run_thread(leaky_crash)
    [event] = captured
    assert "hunter2" not in event["exception"]
    assert event["exception"].startswith("Traceback (most recent call last):")


@pytest.mark.parametrize("colors", [False, True], ids=["plain", "colours"])
def test_console_renderer_prints_the_traceback_as_lines_under_the_event(
    otel: Otel, colors: bool
) -> None:
    """The development chain: the event's line, then the traceback's own lines, never escaped."""
    output = configure(
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.dev.ConsoleRenderer(colors=colors),
    )
    threadcrash.instrument(**otel.providers)
    run_thread(crash, name="worker-1")

    text = output.getvalue()
    assert "\\n" not in text
    first, *block = text.splitlines()
    assert "thread crashed" in first
    assert "Traceback" not in first
    assert "exception.stacktrace" not in first
    assert ("\x1b[" in first) is colors
    assert block == logged_stacktrace(otel).splitlines()
    assert block[0] == "Traceback (most recent call last):"
    assert block[-2:] == ['    raise ValueError("worker failed")', "ValueError: worker failed"]
    assert not any(ANSI.search(line) for line in block)


@pytest.mark.parametrize(
    "exceptions",
    [structlog.processors.dict_tracebacks, structlog.processors.format_exc_info],
    ids=["dict_tracebacks", "format_exc_info"],
)
def test_production_chain_writes_the_traceback_as_one_string_field(
    otel: Otel, exceptions: Any
) -> None:
    """TimeStamper, dict_tracebacks or format_exc_info, JSONRenderer: one object, one string."""
    output = configure(
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exceptions,
        structlog.processors.JSONRenderer(),
    )
    threadcrash.instrument(**otel.providers)
    run_thread(crash, name="worker-1")

    [line] = output.getvalue().splitlines()
    event = json.loads(line)
    assert event["exception"] == logged_stacktrace(otel).removesuffix("\n")
    assert "exception.stacktrace" not in event
    assert "exc_info" not in event
    assert event["level"] == "error"
    assert event["thread.name"] == "worker-1"
    assert event["timestamp"].endswith("Z")


def test_the_applications_own_exception_events_still_work_in_the_same_chain(otel: Otel) -> None:
    """Next to our crash, the application's ``log.exception()`` is still formatted by structlog."""
    output = configure(
        structlog.processors.add_log_level,
        structlog.dev.set_exc_info,
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    )
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    known: dict[str, int] = {}
    try:
        known["missing"]
    except KeyError:
        structlog.get_logger("app").exception("lookup failed")

    ours, theirs = (json.loads(line) for line in output.getvalue().splitlines())
    assert ours["exception"].endswith("ValueError: worker failed")
    assert theirs["event"] == "lookup failed"
    assert theirs["exception"].endswith("KeyError: 'missing'")


@pytest.mark.skipif(
    STRUCTLOG < (24, 2), reason="LogfmtRenderer escapes newlines since structlog 24.2 (#592)"
)
def test_logfmt_renderer_writes_the_traceback_as_one_quoted_field(otel: Otel) -> None:
    """``LogfmtRenderer`` keeps the event on one line, the traceback as one escaped value."""
    output = configure(structlog.processors.LogfmtRenderer())
    threadcrash.instrument(**otel.providers)
    run_thread(crash)

    [line] = output.getvalue().splitlines()
    assert 'exception="Traceback (most recent call last):\\n' in line
    assert "exception.stacktrace" not in line


def test_standard_library_processor_formatter_prints_the_traceback_as_lines(otel: Otel) -> None:
    """Through ``logging`` and ``ProcessorFormatter``: the same block under the event."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.dev.ConsoleRenderer(colors=False),
            ]
        )
    )
    logger = logging.getLogger("threadcrash")
    logger.addHandler(handler)
    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    threadcrash.instrument(**otel.providers)
    try:
        run_thread(crash)
    finally:
        logger.removeHandler(handler)

    first, *block = stream.getvalue().splitlines()
    assert "thread crashed" in first
    assert block == logged_stacktrace(otel).splitlines()
