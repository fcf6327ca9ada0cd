"""The private names of CPython and OpenTelemetry that threadcrash relies on are still there."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextvars
import importlib
import multiprocessing.pool
import sys
import threading
import traceback
from threading import get_ident
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from threadcrash import _compat


def test_threadings_own_table_maps_a_running_thread_by_its_ident() -> None:
    """The threading module still keeps its running threads by ident in ``_active``."""
    import threading

    seen: list[object] = []
    worker = threading.Thread(
        target=lambda: seen.append(_compat.running_threads().get(threading.get_ident()))
    )
    worker.start()
    worker.join(10)
    assert seen == [worker]
    assert _compat.running_threads()[threading.get_ident()] is threading.current_thread()


def test_a_process_pool_failure_is_recognised_by_its_remote_traceback() -> None:
    """A process pool's exception carries the worker's traceback text as a _RemoteTraceback."""
    from concurrent.futures.process import _ExceptionWithTraceback

    try:
        raise ValueError("in a worker")
    except ValueError as error:
        rebuilt: Any = _ExceptionWithTraceback(error, error.__traceback__)  # type: ignore[arg-type]
    function, arguments = rebuilt.__reduce__()  # what the parent unpickles
    exc = function(*arguments)
    assert _compat.is_remote(exc)
    assert "in a worker" in str(exc.__cause__)
    assert not _compat.is_remote(ValueError("local"))
    assert "Traceback" in "".join(traceback.format_exception(exc))


def test_an_exception_whose_cause_cannot_be_read_is_not_a_remote_one() -> None:
    """A ``__cause__`` property that raises makes the exception a local one, never an error."""

    class BrokenCause(Exception):
        @property
        def __cause__(self) -> BaseException | None:  # type: ignore[override]
            raise RuntimeError("no cause for you")

    assert not _compat.is_remote(BrokenCause("hostile"))


def test_pool_results_record_their_first_failure_in_set() -> None:
    """ApplyResult and MapResult still take ``(success, value)`` in ``_set`` and keep callbacks."""
    apply_result, map_result = _compat.pool_result_classes()
    assert "_set" in vars(apply_result)
    assert "_set" in vars(map_result)
    with multiprocessing.pool.ThreadPool(1) as workers:
        result: Any = workers.map_async(int, ["1", "x", "y"], chunksize=1)
        result.wait(10)
        assert result._success is False  # a MapResult keeps only its first failure
        assert result._error_callback is None
        assert _compat.pool_result_failed(result, (False, KeyError("x")))[0] is False
    fresh: Any = object.__new__(apply_result)
    fresh._error_callback = None
    assert _compat.pool_result_failed(fresh, (False, KeyError("x")))[0] is True
    fresh._error_callback = print
    assert _compat.pool_result_failed(fresh, (False, KeyError("x")))[0] is False


def test_an_asyncio_handle_and_task_give_their_context() -> None:
    """A callback handle's context is reachable on every Python, a task's from 3.12."""
    context = contextvars.copy_context()
    loop = asyncio.new_event_loop()
    try:
        handle = loop.call_soon(print, context=context)
        assert _compat.asyncio_context(handle) is context
        handle.cancel()
    finally:
        loop.close()


def test_every_process_runs_bootstrap() -> None:
    """Every multiprocessing child still starts's work in ``BaseProcess._bootstrap``."""
    assert "_bootstrap" in vars(_compat.process_class())


def test_a_thread_is_found_by_its_ident_in_threadings_table() -> None:
    """CPython's threading still keeps its running threads by ident in ``_active``."""
    found: list[object] = []
    thread = threading.Thread(target=lambda: found.append(_compat.running_thread(get_ident())))
    thread.start()
    thread.join(timeout=10)
    assert found == [thread]
    assert _compat.running_thread(-1) is None


def test_the_caller_name_is_read_from_the_frame() -> None:
    """``sys._getframe`` still names the function that called the caller."""

    def inner() -> str:
        return _compat.caller_name(1)

    def outer() -> str:
        return inner()

    assert outer() == "outer"


def test_the_current_span_is_under_the_apis_span_key() -> None:
    """The API still keeps the current span in the context under ``_SPAN_KEY``."""
    key = _compat.span_key()
    assert key is not None
    span = trace.NonRecordingSpan(
        trace.SpanContext(1, 2, is_remote=False, trace_flags=trace.TraceFlags(1))
    )
    with trace.use_span(span):
        assert otel_context.get_current().get(key) is span
    assert otel_context.get_current().get(key) is None


def test_the_context_reader_reads_the_apis_own_context_variable() -> None:
    """The API keeps its context in a ``ContextVar`` whose ``get`` is ``get_current()``.

    It is ``_RUNTIME_CONTEXT._current_context``, read in one C call at every ``submit()``.
    """
    read = _compat.context_reader()
    assert getattr(read, "__self__", None) is getattr(
        otel_context._RUNTIME_CONTEXT, "_current_context", None
    )
    span = trace.NonRecordingSpan(
        trace.SpanContext(1, 2, is_remote=False, trace_flags=trace.TraceFlags(1))
    )
    with trace.use_span(span):
        assert read() is otel_context.get_current()
        assert trace.get_current_span(read()) is span
    assert trace.get_current_span(read()) is not span


def test_the_apis_placeholder_providers_are_recognised() -> None:
    """The API's placeholder meter and logger providers are still the classes we look for."""
    from opentelemetry._logs import _internal as logs_internal
    from opentelemetry.metrics import _internal as metrics_internal

    assert _compat.is_proxy_meter_provider(metrics_internal._PROXY_METER_PROVIDER)
    assert _compat.is_proxy_logger_provider(logs_internal._PROXY_LOGGER_PROVIDER)
    assert not _compat.is_proxy_meter_provider(MeterProvider())
    assert not _compat.is_proxy_logger_provider(LoggerProvider())


def _total(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    return sum(
        int(getattr(point, "value", 0))
        for resource in (data.resource_metrics if data else [])
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    )


def test_forgetting_an_sdk_counters_aggregations_starts_a_fresh_series() -> None:
    """The SDK still keeps a counter's aggregations where the fork handler drops them."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        counter = provider.get_meter("probe").create_counter("probe.crashes")
        consumer = counter._measurement_consumer  # type: ignore[attr-defined]
        storages = consumer._reader_storages
        assert storages
        for storage in storages.values():
            assert isinstance(storage._instrument_view_instrument_matches, dict)
        counter.add(2)
        assert _total(reader) == 2
        _compat.forget_aggregations(counter)
        counter.add(1)
        assert _total(reader) == 1
    finally:
        provider.shutdown()


def test_the_apis_proxy_counter_leads_to_the_sdk_instrument() -> None:
    """A counter made before the provider was set reaches the SDK's in ``_real_instrument``."""
    from opentelemetry.metrics import _internal as metrics_internal

    proxy = metrics_internal._ProxyMeterProvider().get_meter("probe")
    counter = proxy.create_counter("probe.crashes")
    provider = MeterProvider()
    try:
        counter.on_meter_set(provider.get_meter("probe"))  # type: ignore[attr-defined]
        assert counter._real_instrument is not None  # type: ignore[attr-defined]
    finally:
        provider.shutdown()


def test_the_threading_instrumentation_keeps_the_start_context_on_the_thread() -> None:
    """The threading instrumentation still puts the start's context in ``_otel_context``."""
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    instrumentor = ThreadingInstrumentor()
    instrumentor.instrument()
    try:
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join(timeout=10)
    finally:
        instrumentor.uninstrument()
    assert isinstance(getattr(thread, _compat.THREADING_CONTEXT, None), otel_context.Context)


def test_the_exceptions_instrumentation_emits_through_its_wrappers() -> None:
    """The exceptions instrumentation still emits in ``_emit_exception``, from its wrappers."""
    module = importlib.import_module(_compat.EXCEPTIONS_MODULE)
    cls = getattr(module, _compat.EXCEPTIONS_INSTRUMENTOR)
    assert callable(cls.__dict__.get(_compat.EXCEPTIONS_EMIT))
    for wrapper in _compat.EXCEPTIONS_WRAPPERS:
        code = cls.__dict__[wrapper].__code__
        assert _compat.EXCEPTIONS_EMIT in code.co_names, wrapper


def test_a_future_snapshot_hands_over_the_exception_where_python_has_one() -> None:
    """From 3.15, asyncio reads a concurrent future's failure through _get_snapshot()."""
    name = _compat.snapshot_method(cf.Future)
    if sys.version_info < (3, 15):
        assert name is None or name == "_get_snapshot"
        if name is None:
            return
    assert name == "_get_snapshot"
    future: cf.Future[int] = cf.Future()
    error = KeyError("x")
    future.set_exception(error)
    done, cancelled, _result, exception = getattr(future, name)()
    assert (done, cancelled, exception) == (True, False, error)
