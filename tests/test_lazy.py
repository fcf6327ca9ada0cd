"""Nothing before the first crash, piece by piece: the lazy sink, the probes, the import hooks."""

from __future__ import annotations

import socket
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from functools import partial

import pytest

import threadcrash
from threadcrash import _autoconfig, _compat, _emit, _imports, _lazy, _lifecycle, _reach, _worker

from .helpers import run_thread
from .otel import Otel
from .otlp_receiver import OtlpReceiver


def crash() -> None:
    raise ValueError("worker failed")


def sink() -> _lazy.LazyEmitter:
    installation = _lifecycle.current()
    assert installation is not None
    return installation.sink


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# the lazy sink


def test_instrument_builds_no_emitter_until_a_crash(otel: Otel) -> None:
    """With providers given, the emitter is still made by the first crash, not by instrument()."""
    threadcrash.instrument(**otel.providers)
    assert not sink().built
    run_thread(crash)
    assert sink().built
    assert otel.total() == 1


def test_fifty_racing_first_crashes_make_one_emitter(
    otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50 threads crashing together as the first crashes: one emitter, 50 counted, 50 spans."""
    made: list[object] = []
    original = _emit.Emitter.__init__

    def counting_init(self: _emit.Emitter, *args: object, **kwargs: object) -> None:
        made.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_emit.Emitter, "__init__", counting_init)
    threadcrash.instrument(rate_limit=0, chain=False, **otel.providers)
    barrier = threading.Barrier(50, timeout=30)

    def work() -> None:
        barrier.wait()
        raise ValueError("together")

    workers = [threading.Thread(target=work, name=f"worker-{i}") for i in range(50)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert len(made) == 1
    assert otel.total() == 50
    assert len(otel.spans()) == 50


def test_nothing_crashed_nothing_to_flush_or_shut_down(otel: Otel) -> None:
    """Before any crash, flush() and the exit step have nothing to do and say so."""
    threadcrash.instrument(**otel.providers)
    assert sink().flush(1.0) is True
    assert sink().shutdown(1.0) is True
    assert not sink().built


def test_a_first_crash_after_the_exit_step_is_built_synchronous(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After threadcrash shut down at exit, a first crash exports from the hook, then closes."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    threadcrash.instrument()
    sink().shutdown(3.0, at_exit=True)
    run_thread(crash, name="late")
    # exported in the crashing thread already: no flush, no batch thread
    assert [span["attributes"]["thread.name"] for span in receiver.spans("threadcrash.crash")] == [
        "late"
    ]
    assert len(receiver.logs("exception")) == 1
    assert receiver.metric_total("threadcrash.crashes") == 1
    assert not sink().built  # closed again: a later crash builds anew


def test_no_thread_can_start_means_synchronous(monkeypatch: pytest.MonkeyPatch) -> None:
    """When a thread cannot start (interpreter shutdown), the probe says so instead of raising."""
    assert _lazy.threads_can_start()

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    assert not _lazy.threads_can_start()


def test_a_synchronous_build_skips_a_refusing_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built at shutdown with nothing listening: no provider, so no export blocks the hook."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    settings = threadcrash._settings.load({})
    providers = _autoconfig.configure(settings, synchronous=True)
    assert providers.built == []


# the refusal probe


def test_the_probe_tells_a_refused_port_from_a_listening_one() -> None:
    """A closed port is refused; a listening one is not; a name it cannot parse is left alone."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        alive = f"http://127.0.0.1:{listener.getsockname()[1]}/v1/traces"
        dead = f"http://127.0.0.1:{closed_port()}/v1/traces"
        assert _reach.refused({alive, dead, "http://[bad"}, 1.0) == {dead}


def test_endpoint_addresses() -> None:
    """URLs, gRPC's bare host:port and default ports give the address to probe."""
    assert _reach.address("http://collector:4318/v1/logs") == ("collector", 4318)
    assert _reach.address("https://collector/v1/logs") == ("collector", 443)
    assert _reach.address("http://collector") == ("collector", 80)
    assert _reach.address("localhost:4317") == ("localhost", 4317)
    assert _reach.address("http://") is None


def test_exit_abandons_only_the_refused_exporters(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logs to a closed port, traces to a live collector: the span still goes, the log does not."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint + "/v1/traces")
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", f"http://127.0.0.1:{closed_port()}/v1/logs"
    )
    threadcrash.instrument()
    run_thread(crash)
    installation = _lifecycle.current()
    assert installation is not None
    assert installation.sink.shutdown(5.0, at_exit=True)
    assert len(receiver.spans("threadcrash.crash")) == 1


# import hooks


def test_when_imported_waits_for_the_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """A callback for a module not imported yet runs right after its import, and only once."""
    name = "tests._late_module"
    monkeypatch.delitem(sys.modules, name, raising=False)
    seen: list[types.ModuleType] = []
    _imports.when_imported(name, seen.append)
    assert seen == []
    assert _imports._FINDER in sys.meta_path
    import tests._late_module as module

    assert seen == [module]
    assert module.__spec__ is not None
    assert type(module.__spec__.loader).__name__ == "SourceFileLoader"
    assert _imports._FINDER not in sys.meta_path


def test_when_imported_calls_at_once_for_a_loaded_module() -> None:
    """A module already imported: the callback runs now."""
    seen: list[types.ModuleType] = []
    _imports.when_imported("socket", seen.append)
    assert seen == [socket]


def test_forget_takes_the_finder_away() -> None:
    """A callback forgotten before the import never runs, and the finder leaves sys.meta_path."""
    seen: list[types.ModuleType] = []
    _imports.when_imported("tests._never_imported", seen.append)
    _imports.forget("tests._never_imported", seen.append)
    assert _imports._FINDER not in sys.meta_path


def test_uninstrument_leaves_no_import_hook(otel: Otel) -> None:
    """instrument() then uninstrument() leaves sys.meta_path as it was."""
    before = list(sys.meta_path)
    threadcrash.instrument(**otel.providers)
    threadcrash.uninstrument()
    assert sys.meta_path == before


# the compatibility place


def test_probe_cpython_threading_shutdown_flag() -> None:
    """_compat relies on threading._SHUTTING_DOWN, a bool that is False while the program runs."""
    assert threading._SHUTTING_DOWN is False  # type: ignore[attr-defined]
    assert callable(threading._register_atexit)  # type: ignore[attr-defined]
    _compat.import_thread_pool()
    assert _compat.THREAD_POOL in sys.modules


# the on-demand export thread


def note(seen: list[tuple[int, threading.Thread]], number: int) -> None:
    seen.append((number, threading.current_thread()))


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """True once ``condition()`` is (bounded wait)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_export_thread_ends_when_idle() -> None:
    """Jobs run in order in one thread, which is gone once idle: no thread stays behind."""
    worker = _worker.Worker(linger=0.05)
    seen: list[tuple[int, threading.Thread]] = []
    for number in range(3):
        worker.submit(partial(note, seen, number))
    assert worker.drain(10.0)
    assert [number for number, _ in seen] == [0, 1, 2]
    (thread,) = {thread for _, thread in seen}
    assert thread.name == "threadcrash-export"
    assert eventually(lambda: not thread.is_alive())


def test_a_keyed_job_is_queued_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter's export asked for twice before it ran goes out once."""
    release = threading.Event()
    worker = _worker.Worker(linger=0.05)
    runs: list[str] = []
    worker.submit(lambda: release.wait(10))
    worker.submit(lambda: runs.append("metrics"), key="metrics")
    worker.submit(lambda: runs.append("metrics"), key="metrics")
    release.set()
    assert worker.drain(10.0)
    assert runs == ["metrics"]


def test_with_no_thread_to_start_the_jobs_run_at_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    """At interpreter shutdown no thread starts: the queued exports run in the draining thread."""
    worker = _worker.Worker()

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    ran: list[str] = []
    with monkeypatch.context() as patch:
        patch.setattr(threading.Thread, "start", refuse)
        worker.submit(lambda: ran.append(threading.current_thread().name))
    assert ran == []
    assert worker.drain(1.0)
    assert ran == [threading.current_thread().name]


def test_after_the_first_crash_no_export_thread_stays(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash exported with an endpoint set leaves no thread of threadcrash's behind."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    threadcrash.instrument()
    run_thread(crash)
    assert receiver.wait_for(lambda r: r.metric_total("threadcrash.crashes") == 1)
    assert len(receiver.spans("threadcrash.crash")) == 1
    assert len(receiver.logs("exception")) == 1
    providers = sink()._providers
    assert providers is not None
    assert providers.worker is not None
    assert eventually(lambda: providers.worker._thread is None)


def test_a_full_queue_drops_the_oldest_and_still_takes_the_counter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past MAX_PENDING jobs the oldest go, and a dropped counter export can be queued again."""
    monkeypatch.setattr(_worker, "MAX_PENDING", 3)
    release = threading.Event()
    worker = _worker.Worker(linger=0.05)
    runs: list[str] = []
    worker.submit(lambda: release.wait(10))
    assert eventually(lambda: worker._running == 1)
    worker.submit(lambda: runs.append("metrics"), key="metrics")
    for name in ("a", "b", "c"):
        worker.submit(partial(runs.append, name))
    worker.submit(lambda: runs.append("metrics"), key="metrics")
    release.set()
    assert worker.drain(10.0)
    assert runs == ["b", "c", "metrics"]
