"""Real threads crash with ``instrument()`` on: each signal is emitted once, with the contract."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import structlog
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

import threadcrash
from tests.conftest import InternalErrors
from tests.helpers import run_thread
from tests.otel import Otel


def crash() -> None:
    raise ValueError("worker failed")


def test_one_crash_gives_one_of_each_signal(
    otel: Otel, captured_structlog: list[dict[str, Any]]
) -> None:
    """Span, log record, counter and structlog event, each once, tagged with the thread."""
    threadcrash.instrument(**otel.providers)
    thread = run_thread(crash, name="worker-7")

    [span] = otel.spans()
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.ERROR
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "ValueError"
    assert span.attributes is not None
    assert span.attributes["thread.name"] == "worker-7"
    assert span.attributes["thread.id"] == thread.ident
    assert span.attributes["threadcrash.thread.native_id"] == thread.native_id
    assert span.attributes["exception.type"] == "ValueError"
    assert span.attributes["code.function.name"] == "crash"
    assert event.attributes["exception.message"] == "worker failed"
    assert "exception.message" not in span.attributes  # carried once, by the exception event

    [log] = otel.logs()
    assert log.event_name == "exception"
    assert log.severity_number is SeverityNumber.ERROR
    assert log.body == "worker failed"
    assert log.attributes["thread.id"] == thread.ident
    assert log.attributes["threadcrash.source"] == "thread"
    assert span.context is not None
    assert log.trace_id == span.context.trace_id
    assert log.span_id == span.context.span_id

    assert otel.counts() == {
        frozenset(
            {
                ("error.type", "ValueError"),
                ("threadcrash.source", "thread"),
                ("threadcrash.thread.role", "worker-N"),
                ("threadcrash.fingerprint", span.attributes["threadcrash.fingerprint"]),
            }
        ): 1
    }

    [event_dict] = captured_structlog
    assert event_dict["_level"] == "error"
    assert event_dict["event"] == "thread crashed"
    assert event_dict["thread.name"] == "worker-7"
    assert event_dict["thread.id"] == thread.ident
    assert event_dict["trace_id"] == format(span.context.trace_id, "032x")
    assert event_dict["span_id"] == format(span.context.span_id, "016x")


def test_the_structlog_event_holds_only_plain_data(
    otel: Otel, captured_structlog: list[dict[str, Any]]
) -> None:
    """No exception, traceback, frame or thread object reaches a structlog processor."""
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    [event_dict] = captured_structlog
    for value in event_dict.values():
        assert type(value) in (str, int, float, bool)


def test_no_structlog_event_when_the_application_never_configured_it(
    otel: Otel, capsys: pytest.CaptureFixture[str]
) -> None:
    """A program that never set up structlog finds no new lines on its stdout."""
    assert not structlog.is_configured()
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    assert capsys.readouterr().out == ""
    assert len(otel.logs()) == 1


def test_structlog_option_forces_the_event(otel: Otel, capsys: pytest.CaptureFixture[str]) -> None:
    """``structlog=True`` emits through structlog's defaults even when it was not configured."""
    threadcrash.instrument(structlog=True, **otel.providers)
    run_thread(crash, name="forced")
    assert "thread crashed" in capsys.readouterr().out


def test_crash_span_joins_the_trace_that_started_the_thread(otel: Otel) -> None:
    """The crash span's parent is the span that was current at ``Thread.start``."""
    threadcrash.instrument(**otel.providers)
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as request:
        thread = threading.Thread(target=crash)
        thread.start()
    thread.join(10)
    [span] = otel.spans()
    assert span.context is not None
    assert span.parent is not None
    assert span.context.trace_id == request.get_span_context().trace_id
    assert span.parent.span_id == request.get_span_context().span_id


def test_threads_started_before_instrument_get_a_new_trace(otel: Otel) -> None:
    """Without a recorded parent the crash span is a root span."""
    tracer = otel.tracer_provider.get_tracer("app")
    release = threading.Event()

    def wait_then_crash() -> None:
        release.wait(10)
        crash()

    with tracer.start_as_current_span("request"):
        thread = threading.Thread(target=wait_then_crash)
        thread.start()
    threadcrash.instrument(**otel.providers)
    release.set()
    thread.join(10)
    [span] = otel.spans()
    assert span.parent is None


def test_parent_capture_can_be_turned_off(otel: Otel) -> None:
    """``capture_parent=False`` leaves ``Thread.start`` alone and crash spans are roots."""
    original_start = threading.Thread.start
    threadcrash.instrument(capture_parent=False, **otel.providers)
    assert threading.Thread.start is original_start
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request"):
        thread = threading.Thread(target=crash)
        thread.start()
    thread.join(10)
    [span] = otel.spans()
    assert span.parent is None


def test_otel_threading_instrumentation_context_is_used(otel: Otel) -> None:
    """With opentelemetry-instrumentation-threading active, its captured context is the parent."""
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    threadcrash.instrument(capture_parent=False, **otel.providers)
    instrumentor = ThreadingInstrumentor()
    instrumentor.instrument()
    try:
        tracer = otel.tracer_provider.get_tracer("app")
        with tracer.start_as_current_span("request") as request:
            thread = threading.Thread(target=crash)
            thread.start()
        thread.join(10)
    finally:
        instrumentor.uninstrument()
    [span] = otel.spans()
    assert span.parent is not None
    assert span.parent.span_id == request.get_span_context().span_id


def test_system_exit_in_a_thread_is_ignored(otel: Otel) -> None:
    """``SystemExit`` (the exact type) ends a thread quietly, as CPython does."""
    threadcrash.instrument(**otel.providers)

    def leave() -> None:
        raise SystemExit(3)

    run_thread(leave)
    assert otel.spans() == []
    assert otel.total() == 0


def test_a_system_exit_subclass_is_a_crash(otel: Otel) -> None:
    """Only the exact ``SystemExit`` type is ignored; a subclass is reported."""

    class Quit(SystemExit):
        pass

    threadcrash.instrument(**otel.providers)

    def leave() -> None:
        raise Quit(1)

    run_thread(leave)
    assert otel.total() == 1


def test_thread_none_reports_the_running_thread(otel: Otel) -> None:
    """A hook call with ``thread=None`` carries the running thread's ident, native id and name."""
    threadcrash.instrument(**otel.providers)
    seen: dict[str, Any] = {}

    def report_without_thread() -> None:
        seen["ident"] = threading.get_ident()
        seen["native_id"] = threading.get_native_id()
        try:
            crash()
        except ValueError as error:
            args = threading.ExceptHookArgs([ValueError, error, error.__traceback__, None])
            threading.excepthook(args)

    run_thread(report_without_thread, name="anonymous-worker")
    [span] = otel.spans()
    assert span.attributes is not None
    assert span.attributes["thread.id"] == seen["ident"]
    assert span.attributes["threadcrash.thread.native_id"] == seen["native_id"]
    assert span.attributes["thread.name"] == "anonymous-worker"


def test_a_missing_traceback_is_handled(otel: Otel) -> None:
    """A hook call without a traceback still gives a full report."""
    threadcrash.instrument(**otel.providers)

    def report() -> None:
        error = ValueError("no traceback")
        threading.excepthook(threading.ExceptHookArgs([ValueError, error, None, None]))

    run_thread(report)
    [span] = otel.spans()
    assert span.attributes is not None
    assert span.events[0].attributes is not None
    assert span.events[0].attributes["exception.stacktrace"] == "ValueError: no traceback\n"
    assert "code.function.name" not in span.attributes


def test_the_previous_hook_gets_the_same_args_object(otel: Otel) -> None:
    """Chaining passes CPython's own args object on, untouched."""
    received: list[Any] = []
    threading.excepthook = received.append
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    [args] = received
    assert type(args) is threading.ExceptHookArgs
    assert args.exc_type is ValueError
    assert otel.total() == 1


def test_chain_false_does_not_call_the_previous_hook(otel: Otel) -> None:
    """``chain=False`` reports the crash without running the previous hook."""
    received: list[Any] = []
    threading.excepthook = received.append
    threadcrash.instrument(chain=False, **otel.providers)
    run_thread(crash)
    assert received == []
    assert otel.total() == 1


def test_instrument_is_idempotent(otel: Otel) -> None:
    """However often ``instrument()`` is called, one crash gives one report."""
    for _ in range(3):
        threadcrash.instrument(**otel.providers)
    run_thread(crash)
    assert len(otel.spans()) == 1
    assert len(otel.logs()) == 1
    assert otel.total() == 1


def test_uninstrument_restores_the_previous_hook_and_start() -> None:
    """``uninstrument()`` is the exact mirror of ``instrument()``."""
    before = (threading.excepthook, threading.Thread.start)
    threadcrash.instrument()
    assert threading.excepthook is not before[0]
    assert threading.Thread.start is not before[1]
    threadcrash.uninstrument()
    assert (threading.excepthook, threading.Thread.start) == before


def test_a_hook_assigned_after_us_survives_uninstrument(otel: Otel) -> None:
    """When another library wrapped our hook, uninstrument leaves theirs and ours goes inert."""
    threadcrash.instrument(**otel.providers)
    ours = threading.excepthook
    received: list[Any] = []

    def theirs(args: Any) -> None:
        received.append(args.exc_type)
        ours(args)

    threading.excepthook = theirs
    threadcrash.uninstrument()
    assert threading.excepthook is theirs
    run_thread(crash)
    assert received == [ValueError]
    assert otel.total() == 0

    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    assert otel.total() == 1
    assert len(otel.spans()) == 1


def test_an_inert_hook_with_chain_off_still_passes_crashes_on(otel: Otel) -> None:
    """After uninstrument(chain=False) leaves our hook inert, crashes reach the earlier hook."""
    printed: list[Any] = []
    threading.excepthook = printed.append
    threadcrash.instrument(chain=False, **otel.providers)
    ours = threading.excepthook
    threading.excepthook = lambda args: ours(args)
    threadcrash.uninstrument()
    run_thread(crash)
    assert [args.exc_type for args in printed] == [ValueError]
    assert otel.total() == 0


def test_a_failing_structlog_processor_leaves_the_rest_working(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """A broken processor is our internal error; the OTel signals and the chained hook still run."""

    def broken(_logger: object, _method: str, _event: Any) -> Any:
        raise RuntimeError("processor bug")

    structlog.configure(processors=[broken])
    received: list[Any] = []
    threading.excepthook = received.append
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    assert len(otel.spans()) == 1
    assert len(otel.logs()) == 1
    assert otel.total() == 1
    assert len(received) == 1
    assert [where for where, _ in internal_errors.seen] == ["structlog"]
    assert "processor bug" in internal_errors.seen[0][1]


class ExplodingProcessor(SpanProcessor):
    """A span processor that fails on every span, like a broken exporter pipeline."""

    def on_end(self, span: ReadableSpan) -> None:
        raise OSError("exporter down")


def test_a_failing_span_pipeline_leaves_log_counter_and_hook(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """A span pipeline that raises costs the span only; the other signals and chaining remain."""
    otel.tracer_provider.add_span_processor(ExplodingProcessor())
    received: list[Any] = []
    threading.excepthook = received.append
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    assert len(otel.logs()) == 1
    assert otel.total() == 1
    assert len(received) == 1
    assert [where for where, _ in internal_errors.seen] == ["span"]


def test_emission_failure_with_chain_off_still_prints_the_crash(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """If the record cannot be built, a minimal one is counted; the previous hook still runs."""
    received: list[Any] = []
    threading.excepthook = received.append
    threadcrash.instrument(chain=False, **otel.providers)

    def report() -> None:
        error = ValueError("x")
        not_a_traceback = object()  # what a buggy caller might pass: our record builder fails
        args = threading.ExceptHookArgs([ValueError, error, not_a_traceback, None])
        threading.excepthook(args)

    run_thread(report)
    assert len(received) == 1
    assert [where for where, _ in internal_errors.seen] == ["record"]
    assert otel.total() == 1
    [log] = otel.logs()
    assert log.attributes["threadcrash.partial"] is True
    assert log.attributes["exception.type"] == "ValueError"


def test_a_crash_inside_our_own_emission_is_not_reported_again(
    otel: Otel, internal_errors: InternalErrors
) -> None:
    """A processor that reports an error through the hook while we emit does not recurse."""
    calls: list[str] = []

    def reentrant(_logger: object, _method: str, event: Any) -> Any:
        calls.append(event["event"])
        try:
            raise KeyError("inside emission")
        except KeyError as error:
            threading.excepthook(
                threading.ExceptHookArgs([KeyError, error, error.__traceback__, None])
            )
        raise structlog.DropEvent

    structlog.configure(processors=[reentrant])
    received: list[Any] = []
    threading.excepthook = received.append
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    assert calls == ["thread crashed"]
    assert otel.total() == 1
    assert [args.exc_type for args in received] == [KeyError, ValueError]
    assert internal_errors.seen == []


def test_two_hundred_simultaneous_crashes_are_counted_exactly(otel: Otel) -> None:
    """200 threads crashing at the same instant: exact counts, every signal, no deadlock."""
    threadcrash.instrument(chain=False, rate_limit=0, **otel.providers)  # storm control off
    barrier = threading.Barrier(200, timeout=20)

    def crash_together() -> None:
        barrier.wait()
        raise ValueError("together")

    threads = [threading.Thread(target=crash_together) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert otel.total() == 200
    assert len(otel.spans()) == 200
    assert len(otel.logs()) == 200


def test_thread_roles_are_capped(otel: Otel) -> None:
    """Past ``max_thread_roles`` distinct roles, the counter says ``other``."""
    threadcrash.instrument(max_thread_roles=2, **otel.providers)
    for name in ("alpha-1", "beta-1", "gamma-1", "alpha-2"):
        run_thread(crash, name=name)
    roles = {
        dict(key).get("threadcrash.thread.role"): value for key, value in otel.counts().items()
    }
    assert roles == {"alpha-N": 2, "beta-N": 1, "other": 1}


def test_message_limit_option_bounds_every_signal(otel: Otel) -> None:
    """``max_message_length`` bounds the message in the span, the log record and the event."""
    threadcrash.instrument(max_message_length=100, **otel.providers)

    def huge() -> None:
        raise ValueError("x" * 5_000_000)

    run_thread(huge)
    [span] = otel.spans()
    assert span.events[0].attributes is not None
    assert len(str(span.events[0].attributes["exception.message"])) == 100
    [log] = otel.logs()
    assert len(log.body) == 100


def test_the_instrumentor_is_the_same_switch(otel: Otel) -> None:
    """The instrumentor and ``threadcrash.instrument`` share one on/off state."""
    instrumentor = threadcrash.ThreadCrashInstrumentor()
    instrumentor.instrument(**otel.providers)
    threadcrash.instrument(**otel.providers)  # already on: changes nothing
    run_thread(crash)
    assert otel.total() == 1
    threadcrash.uninstrument()
    assert not instrumentor.is_instrumented_by_opentelemetry
    assert threading.excepthook is threading.__excepthook__


def test_the_role_cap_holds_when_many_threads_race_for_the_last_slots() -> None:
    """Many threads offering new roles at once never get more than the cap through."""
    from threadcrash._emit import OTHER_ROLE, CardinalityCap

    cap = CardinalityCap(5)
    barrier = threading.Barrier(40, timeout=10)
    results: list[str | None] = []

    def offer(index: int) -> None:
        barrier.wait()
        results.append(cap(f"role-{index}"))

    threads = [threading.Thread(target=offer, args=(index,)) for index in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    kept = {role for role in results if role != OTHER_ROLE}
    assert len(results) == 40
    assert len(kept) == 5
