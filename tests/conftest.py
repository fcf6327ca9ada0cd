"""Fixtures for every test: a clean environment, CPython's hooks, no hidden internal errors."""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog

import threadcrash
from tests.helpers import ENV_PREFIXES
from tests.otel import Otel
from threadcrash import _errors, _internal, _redact


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no variable the library reads."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def pristine_hooks() -> Iterator[None]:
    """Every test starts with CPython's hooks and ends with them, whatever it installed."""
    saved = (threading.excepthook, sys.excepthook, sys.unraisablehook, threading.Thread.start)
    threading.excepthook = threading.__excepthook__
    yield
    threadcrash.uninstrument()
    threading.excepthook, sys.excepthook, sys.unraisablehook = saved[:3]
    threading.Thread.start = saved[3]  # type: ignore[method-assign]
    structlog.reset_defaults()
    _errors._warned.clear()


@pytest.fixture(autouse=True)
def _fresh_redaction_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs the redaction rules itself: text a test before it cached would hide them."""
    monkeypatch.setattr(_redact, "_cache", {})


@dataclass
class InternalErrors:
    """Internal errors seen during a test: text only, never the exception object."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    expected: bool = False


@pytest.fixture(autouse=True)
def _fail_on_internal_errors() -> Iterator[InternalErrors]:
    """Our own errors are swallowed in production; in our tests they fail the test."""
    errors = InternalErrors()
    remove = _internal.add_listener(lambda where, text: errors.seen.append((where, text)))
    yield errors
    remove()
    if errors.seen and not errors.expected:
        where, text = errors.seen[0]
        pytest.fail(f"threadcrash internal error in {where}:\n{text}")


@pytest.fixture
def internal_errors(_fail_on_internal_errors: InternalErrors) -> InternalErrors:
    """For tests that provoke internal errors on purpose and check them."""
    _fail_on_internal_errors.expected = True
    return _fail_on_internal_errors


@pytest.fixture
def otel() -> Iterator[Otel]:
    """SDK providers whose output the test can read back."""
    providers = Otel.create()
    yield providers
    providers.shutdown()


@pytest.fixture
def captured_structlog() -> list[dict[str, Any]]:
    """Configure structlog as an application would, capturing each event dict."""
    events: list[dict[str, Any]] = []

    def capture(_logger: object, method: str, event: Any) -> str:
        events.append({"_level": method, **event})
        raise structlog.DropEvent

    structlog.configure(processors=[capture])
    return events


@pytest.fixture
def otel_globals() -> Iterator[None]:
    """Let a test set OpenTelemetry's global providers (set-once) and put them back afterwards."""
    from opentelemetry import trace
    from opentelemetry._logs import _internal as logs_internal
    from opentelemetry.metrics import _internal as metrics_internal
    from opentelemetry.util._once import Once

    saved = (
        trace._TRACER_PROVIDER,
        trace._TRACER_PROVIDER_SET_ONCE,
        metrics_internal._METER_PROVIDER,
        metrics_internal._METER_PROVIDER_SET_ONCE,
        logs_internal._LOGGER_PROVIDER,
        logs_internal._LOGGER_PROVIDER_SET_ONCE,
    )
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = None, Once()
    metrics_internal._METER_PROVIDER, metrics_internal._METER_PROVIDER_SET_ONCE = None, Once()
    logs_internal._LOGGER_PROVIDER, logs_internal._LOGGER_PROVIDER_SET_ONCE = None, Once()
    yield
    threadcrash.uninstrument()
    (
        trace._TRACER_PROVIDER,
        trace._TRACER_PROVIDER_SET_ONCE,
        metrics_internal._METER_PROVIDER,
        metrics_internal._METER_PROVIDER_SET_ONCE,
        logs_internal._LOGGER_PROVIDER,
        logs_internal._LOGGER_PROVIDER_SET_ONCE,
    ) = saved


@pytest.fixture
def restore_faulthandler() -> Iterator[None]:
    """Put faulthandler back as pytest had it (for the tests of the fatal source)."""
    enabled = faulthandler.is_enabled()
    yield
    if enabled:
        faulthandler.enable()
    else:
        faulthandler.disable()
