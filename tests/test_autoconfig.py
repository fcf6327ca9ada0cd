"""Auto-configuration: providers from OTEL_* when asked, the application's when set, else none."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator

import pytest
from opentelemetry import _logs, metrics, trace

import threadcrash
from threadcrash import ConfigurationWarning, _autoconfig, _lifecycle, _settings

from .helpers import run_thread
from .otel import Otel
from .otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.usefixtures("otel_globals")


def crash() -> None:
    raise ValueError("worker failed")


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def built() -> list[object]:
    installation = _lifecycle.current()
    assert installation is not None
    return installation.sink.providers_built


def test_nothing_asks_for_export_so_nothing_is_built() -> None:
    """No OTEL_* variable: no provider is built or registered, so nothing can connect anywhere."""
    threadcrash.instrument()
    run_thread(crash)
    assert built() == []
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_an_endpoint_builds_nothing_before_the_first_crash(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an endpoint set, instrument() builds no provider: the first crash does, once."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    threadcrash.instrument()
    assert built() == []
    run_thread(crash)
    first = built()
    assert len(first) == 3
    run_thread(crash)
    assert built() == first
    threadcrash.uninstrument()
    assert receiver.metric_points("threadcrash.crashes")[-1]["value"] == 2


def test_the_providers_built_are_private_unless_asked(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a crash the global providers are still unset: other instrumentation exports nothing."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    threadcrash.instrument()
    run_thread(crash)
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    trace.get_tracer("the-application").start_span("request").end()
    threadcrash.uninstrument()
    assert len(receiver.spans("threadcrash.crash")) == 1
    assert receiver.spans("request") == []


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_global_providers_opts_in(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """global_providers=True (or THREADCRASH_GLOBAL_PROVIDERS): the application's spans go too."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    if how == "keyword":
        threadcrash.instrument(global_providers=True)
    else:
        monkeypatch.setenv("THREADCRASH_GLOBAL_PROVIDERS", "true")
        threadcrash.instrument()
    run_thread(crash)
    assert trace.get_tracer_provider() in built()
    trace.get_tracer("the-application").start_span("request").end()
    threadcrash.uninstrument()
    assert len(receiver.spans("threadcrash.crash")) == 1
    assert len(receiver.spans("request")) == 1


def test_an_endpoint_sends_all_three_signals_with_the_service_resource(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint alone exports span, log record and counter, with the service's resource."""
    set_env(
        monkeypatch,
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_SERVICE_NAME": "orders",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
        },
    )
    threadcrash.instrument()
    thread = run_thread(crash, name="order-worker-3")
    threadcrash.uninstrument()  # flushes and shuts down what it built

    (span,) = receiver.spans("threadcrash.crash")
    assert span["attributes"]["thread.name"] == "order-worker-3"
    assert span["attributes"]["thread.id"] == thread.ident
    assert span["resource"]["service.name"] == "orders"
    assert span["resource"]["deployment.environment"] == "test"
    (log,) = receiver.logs("exception")
    assert log["attributes"]["thread.name"] == "order-worker-3"
    assert log["attributes"]["exception.message"] == "worker failed"
    assert log["trace_id"] == span["trace_id"]
    assert log["resource"]["service.name"] == "orders"
    (point,) = receiver.metric_points("threadcrash.crashes")
    assert point["value"] == 1
    assert point["attributes"]["threadcrash.thread.role"] == "order-worker-N"
    assert point["resource"]["service.name"] == "orders"
    assert receiver.errors == []


def test_traces_exporter_none_turns_off_traces_only(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_TRACES_EXPORTER=none: no span is exported, logs and metrics still are."""
    set_env(
        monkeypatch,
        {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_TRACES_EXPORTER": "none"},
    )
    threadcrash.instrument()
    run_thread(crash)
    threadcrash.uninstrument()
    assert receiver.requests("/v1/traces") == []
    assert len(receiver.logs("exception")) == 1
    assert receiver.metric_total("threadcrash.crashes") == 1
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_a_signal_endpoint_alone_exports_that_signal_alone(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: the log record goes there, nothing else is built."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", receiver.endpoint + "/custom/logs")
    threadcrash.instrument()
    run_thread(crash)
    assert len(built()) == 1
    threadcrash.uninstrument()
    assert [item.path for item in receiver.received] == []  # the receiver knows no such path
    assert len(receiver.errors) == 1
    assert receiver.errors[0].startswith("/custom/logs")


def test_headers_and_compression_reach_the_collector(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_EXPORTER_OTLP_HEADERS and _COMPRESSION apply to every request threadcrash sends."""
    set_env(
        monkeypatch,
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=abc%3D1",
            "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        },
    )
    threadcrash.instrument()
    run_thread(crash)
    threadcrash.uninstrument()
    assert {item.path for item in receiver.received} == {"/v1/traces", "/v1/logs", "/v1/metrics"}
    for item in receiver.received:
        assert item.headers["x-api-key"] == "abc=1"
        assert item.headers["content-encoding"] == "gzip"


def test_providers_the_application_set_are_used_not_replaced(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch, otel: Otel
) -> None:
    """Global SDK providers already set: threadcrash builds nothing and reports through them."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    trace.set_tracer_provider(otel.tracer_provider)
    metrics.set_meter_provider(otel.meter_provider)
    _logs.set_logger_provider(otel.logger_provider)
    threadcrash.instrument()
    run_thread(crash)
    assert built() == []
    assert len(otel.spans()) == 1
    assert len(otel.logs()) == 1
    assert otel.total() == 1
    threadcrash.uninstrument()
    assert receiver.received == []


def test_only_the_missing_signals_are_built(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch, otel: Otel
) -> None:
    """The application set a tracer provider only: spans go there, logs and metrics to OTLP."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    trace.set_tracer_provider(otel.tracer_provider)
    threadcrash.instrument()
    run_thread(crash)
    threadcrash.uninstrument()
    assert len(otel.spans()) == 1
    assert receiver.requests("/v1/traces") == []
    assert len(receiver.logs("exception")) == 1
    assert receiver.metric_total("threadcrash.crashes") == 1


def test_a_second_installation_builds_afresh(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After uninstrument() shut its providers down, instrument() again still exports."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    threadcrash.instrument()
    threadcrash.uninstrument()
    threadcrash.instrument()
    run_thread(crash)
    threadcrash.uninstrument()
    assert len(receiver.spans("threadcrash.crash")) == 1
    assert len(receiver.logs("exception")) == 1


def test_exporters_by_name() -> None:
    """`console` and the names of installed exporter entry points give those exporters."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter

    build = _autoconfig._Build(_settings.load({}, {}), synchronous=False, exporters=[])
    (console,) = _autoconfig._exporters(build, "logs", ("console",))
    assert isinstance(console, ConsoleLogRecordExporter)
    (http,) = _autoconfig._exporters(build, "traces", ("otlp_proto_http",))
    assert isinstance(http, OTLPSpanExporter)


def test_an_unknown_exporter_name_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_TRACES_EXPORTER=zipkin (not installed): one warning naming it, and no traces."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threadcrash.instrument()
        run_thread(crash)  # the exporters are looked up by the first crash
    ours = [str(item.message) for item in caught if item.category is ConfigurationWarning]
    assert len(ours) == 1
    assert "OTEL_TRACES_EXPORTER='zipkin'" in ours[0]
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_the_protocol_defaults_to_what_is_installed() -> None:
    """No OTEL_EXPORTER_OTLP_PROTOCOL: the installed HTTP exporter, never a missing gRPC one."""
    settings = _settings.load({}, {})
    assert _autoconfig.protocol_for(settings, "traces") == "http/protobuf"


@pytest.mark.skipif(
    "grpc" in _autoconfig.installed_protocols(), reason="the gRPC exporter is installed"
)
def test_asking_for_grpc_without_it_warns_and_uses_http() -> None:
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc with only OTLP/HTTP installed: one warning, then HTTP."""
    settings = _settings.load({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _autoconfig.protocol_for(settings, "traces") == "http/protobuf"
        assert _autoconfig.protocol_for(settings, "logs") == "http/protobuf"
    ours = [str(item.message) for item in caught if item.category is ConfigurationWarning]
    assert len(ours) == 1
    assert "OTEL_EXPORTER_OTLP_PROTOCOL='grpc'" in ours[0]
    assert "threadcrash[grpc]" in ours[0]


def test_shutdown_of_a_stuck_exporter_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A collector that accepts but never answers costs uninstrument() flush_timeout, no more."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        set_env(
            monkeypatch,
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{listener.getsockname()[1]}",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "20",
                "THREADCRASH_FLUSH_TIMEOUT": "0.5",
            },
        )
        threadcrash.instrument()
        run_thread(crash)
        started = time.monotonic()
        threadcrash.uninstrument()
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        acceptor.join(5)
        for connection in accepted:
            connection.close()
        listener.close()
    assert elapsed < 2.0
