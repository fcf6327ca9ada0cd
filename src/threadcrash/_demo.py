"""``threadcrash demo``: a tiny job service whose workers crash on purpose."""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import threading
import time

import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from structlog.typing import EventDict, Processor

import threadcrash


class PaymentDeclinedError(Exception):
    """A domain error of the demo service."""


def _charge(job: int) -> None:
    raise PaymentDeclinedError(f"card declined for order {job}")


def _parse(job: int) -> None:
    int(f"order-{job}")


def _lookup(job: int) -> None:
    {"known": 1}[f"customer-{job}"]


def _divide(job: int) -> None:
    _ = job / (job - job)


_FAILURES = (_charge, _parse, _lookup, _divide)


def _worker(job: int) -> None:
    _FAILURES[job % len(_FAILURES)](job)


# The console shows one short line per event (the traceback as lines under each crash);
# ``--format json`` shows every key. Hidden here: what the traceback already says, and the ids
# a person does not read.
_CONSOLE_HIDDEN = (
    "exception.type",
    "exception.message",
    "code.function.name",
    "code.file.path",
    "code.line.number",
    "thread.id",
    "threadcrash.thread.native_id",
    "threadcrash.source",
    "threadcrash.fingerprint",
    "span_id",
)


def _short(_logger: object, _method: str, event_dict: EventDict) -> EventDict:
    for key in _CONSOLE_HIDDEN:
        event_dict.pop(key, None)
    return event_dict


def _colors() -> bool:
    """Colours on a terminal, as structlog's defaults: ``NO_COLOR`` off, ``FORCE_COLOR`` on."""
    if os.environ.get("NO_COLOR"):
        return False
    if sys.platform == "win32" and importlib.util.find_spec("colorama") is None:
        return False  # structlog needs colorama for colours on Windows
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()


def _configure_structlog(fmt: str) -> None:
    processors: list[Processor] = [structlog.processors.add_log_level]
    if fmt == "json":
        processors += [
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ]
    else:
        processors += [
            structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False),
            _short,
            structlog.dev.ConsoleRenderer(colors=_colors()),
        ]
    structlog.configure(processors=processors)


def _exports() -> bool:
    return any(
        os.environ.get(name)
        for name in (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_TRACES_EXPORTER",
        )
    )


def run_demo(*, crashes: int, interval: float, fmt: str) -> int:
    """Start one worker thread per job inside a request span; every worker crashes."""
    _configure_structlog(fmt)
    log = structlog.get_logger("threadcrash.demo")
    if _exports():
        threadcrash.instrument(chain=False)
        tracer = trace.get_tracer("threadcrash.demo")
    else:
        # No collector: a local SDK provider still gives real trace ids, so the printed
        # events show each crash in the trace of the request that started its thread.
        provider = TracerProvider()
        threadcrash.instrument(tracer_provider=provider, chain=False)
        tracer = provider.get_tracer("threadcrash.demo")
    log.info("demo started", crashes=crashes or "unlimited", interval=interval)
    jobs = itertools.count(1) if crashes == 0 else iter(range(1, crashes + 1))
    try:
        for job in jobs:
            with tracer.start_as_current_span("handle order") as span:
                log.info(
                    "order accepted",
                    job=job,
                    trace_id=format(span.get_span_context().trace_id, "032x"),
                )
                worker = threading.Thread(target=_worker, args=(job,), name=f"order-worker-{job}")
                worker.start()
            worker.join()
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        threadcrash.uninstrument()
    log.info("demo finished")
    return 0
