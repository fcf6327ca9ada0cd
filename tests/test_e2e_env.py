"""End to end, configured by the environment only: real programs, a real OTLP/HTTP receiver.

Each test runs a program that never imports threadcrash (or imports it and calls
``instrument()`` with no arguments) in a subprocess, with ``OTEL_*`` variables pointing at
:class:`~tests.otlp_receiver.OtlpReceiver` on 127.0.0.1, and checks what arrived.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import clean_env
from threadcrash import _run

from .otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
OTEL_INSTRUMENT = BIN / "opentelemetry-instrument"

# an application that never heard of threadcrash: structlog through the standard library,
# a worker thread that crashes, and an exit code of its own
APP = textwrap.dedent(
    """
    import logging, sys, threading
    import structlog

    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s %(message)s")
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.stdlib.LoggerFactory(),
    )
    if len(sys.argv) > 1 and sys.argv[1] == "instrument":
        import threadcrash
        threadcrash.instrument()

    def work():
        raise ValueError("worker failed")

    worker = threading.Thread(target=work, name="order-worker-7")
    worker.start()
    worker.join()
    structlog.get_logger("app").info("order done")
    print("main done", flush=True)
    sys.exit(3)
    """
)

# no structlog configuration and no threadcrash: what the program prints must not change
PLAIN_APP = textwrap.dedent(
    """
    import sys, threading
    def work():
        raise KeyError("missing")
    for name in ("a-1", "b-2"):
        thread = threading.Thread(target=work, name=name)
        thread.start()
        thread.join()
    print("out line")
    print("err line", file=sys.stderr)
    sys.exit(5)
    """
)


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def base_env(**extra: str) -> dict[str, str]:
    return clean_env(drop=("PYTHONPATH",), **extra)


def export_env(receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    return base_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="orders",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=e2e",
        OTEL_METRIC_EXPORT_INTERVAL="60000",
        **extra,
    )


def run(
    argv: list[str], env: dict[str, str], tmp_path: Path, script: str = APP
) -> subprocess.CompletedProcess[str]:
    app = tmp_path / "app.py"
    app.write_text(script)
    return subprocess.run(
        [str(item).replace("{app}", str(app)) for item in argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )


def threadcrash_run(*program: str) -> list[str]:
    return [sys.executable, "-m", "threadcrash", "run", "--", *program]


def assert_one_report_of_each_kind(receiver: OtlpReceiver) -> None:
    """The span, the log record and the count of one crash arrived, once, with the resource."""
    spans = receiver.wait_for(lambda r: r.spans("threadcrash.crash"), timeout=10)
    logs = receiver.wait_for(lambda r: r.logs("exception"), timeout=10)
    points = receiver.wait_for(lambda r: r.metric_points("threadcrash.crashes"), timeout=10)
    assert receiver.errors == []
    assert len(spans) == 1, spans
    (span,) = spans
    assert span["attributes"]["thread.name"] == "order-worker-7"
    assert isinstance(span["attributes"]["thread.id"], int)
    assert isinstance(span["attributes"]["threadcrash.thread.native_id"], int)
    assert span["attributes"]["threadcrash.source"] == "thread"
    assert span["events"][0]["attributes"]["exception.message"] == "worker failed"
    for item in (span, *logs, *points):
        assert item["resource"]["service.name"] == "orders"
        assert item["resource"]["deployment.environment.name"] == "e2e"

    (log,) = logs
    assert log["attributes"]["thread.name"] == "order-worker-7"
    assert log["attributes"]["exception.type"] == "ValueError"
    assert log["severity_text"] == "ERROR"
    assert log["trace_id"] == span["trace_id"]
    assert log["span_id"] == span["span_id"]
    # one crash, one log record: nothing else on the wire speaks of it
    about_the_crash = [
        record
        for record in receiver.logs()
        if "worker failed" in repr(record["body"]) + repr(record["attributes"])
        or "thread crashed" in repr(record["body"])
    ]
    assert about_the_crash == [log], about_the_crash

    assert receiver.metric_total("threadcrash.crashes") == 1
    attributes = points[-1]["attributes"]
    assert attributes == {
        "error.type": "ValueError",
        "threadcrash.source": "thread",
        "threadcrash.thread.role": "order-worker-N",
        "threadcrash.fingerprint": span["attributes"]["threadcrash.fingerprint"],
    }


def assert_the_programs_own_output(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 3, result.stderr
    assert "Exception in thread order-worker-7" in result.stderr
    assert "ValueError: worker failed" in result.stderr
    assert "main done" in result.stdout
    assert "app " in result.stdout  # the application's own structlog line


def test_instrument_with_only_the_environment(receiver: OtlpReceiver, tmp_path: Path) -> None:
    """`instrument()` and OTEL_EXPORTER_OTLP_ENDPOINT: span, log record and metric arrive."""
    result = run([sys.executable, "{app}", "instrument"], export_env(receiver), tmp_path)
    assert_the_programs_own_output(result)
    assert_one_report_of_each_kind(receiver)
    assert '"event": "thread crashed"' in result.stdout  # our structlog event, their renderer


def test_threadcrash_run_instruments_a_program_that_never_imports_it(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    """`threadcrash run -- python app.py`: the same reports, from an untouched program."""
    result = run(threadcrash_run(sys.executable, "{app}"), export_env(receiver), tmp_path)
    assert_the_programs_own_output(result)
    assert_one_report_of_each_kind(receiver)
    assert '"event": "thread crashed"' in result.stdout


@pytest.mark.skipif(not OTEL_INSTRUMENT.exists(), reason="opentelemetry-instrument not installed")
def test_opentelemetry_instrument_loads_threadcrash(receiver: OtlpReceiver, tmp_path: Path) -> None:
    """Under `opentelemetry-instrument`, next to exceptions/logging/structlog: one of each kind."""
    result = run([str(OTEL_INSTRUMENT), sys.executable, "{app}"], export_env(receiver), tmp_path)
    assert_the_programs_own_output(result)
    assert_one_report_of_each_kind(receiver)


@pytest.mark.skipif(not OTEL_INSTRUMENT.exists(), reason="opentelemetry-instrument not installed")
def test_opentelemetry_instrument_with_threadcrash_disabled(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    """OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=threadcrash: no threadcrash span, log or metric."""
    env = export_env(receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="threadcrash")
    result = run([str(OTEL_INSTRUMENT), sys.executable, "{app}"], env, tmp_path)
    assert_the_programs_own_output(result)
    assert receiver.spans("threadcrash.crash") == []
    assert receiver.logs("exception") == []
    assert receiver.metric_points("threadcrash.crashes") == []
    assert '"event": "thread crashed"' not in result.stdout


def test_traces_exporter_none_keeps_logs_and_metrics(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    """OTEL_TRACES_EXPORTER=none through `threadcrash run`: no span, the log and count arrive."""
    env = export_env(receiver, OTEL_TRACES_EXPORTER="none")
    result = run(threadcrash_run(sys.executable, "{app}"), env, tmp_path)
    assert_the_programs_own_output(result)
    assert receiver.wait_for(lambda r: r.logs("exception"), timeout=10)
    assert receiver.wait_for(lambda r: r.metric_total("threadcrash.crashes") == 1, timeout=10)
    assert receiver.requests("/v1/traces") == []


def test_run_without_export_changes_nothing_the_program_prints(tmp_path: Path) -> None:
    """No OTEL_* at all: exit code, stdout and stderr are byte for byte the program's own."""
    plain = run([sys.executable, "{app}"], base_env(), tmp_path, PLAIN_APP)
    wrapped = run(threadcrash_run(sys.executable, "{app}"), base_env(), tmp_path, PLAIN_APP)
    assert plain.returncode == wrapped.returncode == 5
    assert plain.stdout == wrapped.stdout == "out line\n"
    assert plain.stderr == wrapped.stderr
    assert "Exception in thread a-1" in plain.stderr


def test_run_still_loads_the_sitecustomize_it_shadows(tmp_path: Path) -> None:
    """A sitecustomize already on PYTHONPATH still runs under `threadcrash run`, before the app."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import os\nos.environ['SITE_RAN'] = 'yes'\n")
    script = textwrap.dedent(
        """
        import os, threading
        import threadcrash._lifecycle as lifecycle
        print(os.environ.get("SITE_RAN"), lifecycle.current() is not None,
              threading.excepthook is not threading.__excepthook__)
        """
    )
    result = run(
        threadcrash_run(sys.executable, "{app}"), base_env(PYTHONPATH=str(site)), tmp_path, script
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "yes True True\n"
    assert result.stderr == ""


def test_run_reports_a_command_that_does_not_exist(tmp_path: Path) -> None:
    """A missing program: one line on stderr and exit status 127, as a shell would."""
    result = run(threadcrash_run("no-such-program-xyz"), base_env(), tmp_path)
    assert result.returncode == 127
    assert result.stderr == "threadcrash run: command not found: no-such-program-xyz\n"


def test_run_puts_the_bootstrap_first_once() -> None:
    """The bootstrap directory goes first on PYTHONPATH, once, keeping what was there."""
    env: dict[str, Any] = _run.environment({"PYTHONPATH": os.pathsep.join(["/a", _run.BOOTSTRAP])})
    assert env["PYTHONPATH"] == os.pathsep.join([_run.BOOTSTRAP, "/a"])


def test_exit_waits_for_a_stalled_collector_no_longer_than_the_flush_timeout(
    tmp_path: Path,
) -> None:
    """A collector that never answers delays the exit by the flush timeout, not the SDK's own."""
    with OtlpReceiver(delay=30) as stalled:
        env = export_env(stalled, THREADCRASH_FLUSH_TIMEOUT="1", OTEL_EXPORTER_OTLP_TIMEOUT="20")
        started = time.monotonic()
        result = run(threadcrash_run(sys.executable, "{app}"), env, tmp_path, PLAIN_APP)
        elapsed = time.monotonic() - started
    assert result.returncode == 5
    assert elapsed < 8, elapsed
