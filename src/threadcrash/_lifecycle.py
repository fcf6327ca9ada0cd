"""Install and uninstall as exact mirrors; all lifecycle state lives here, behind one lock.

At exit, one function runs, in this order: the exit steps other parts registered with
:func:`add_exit_step` (reports still to be made), storm control's pending summaries, then the
shutdown of the providers threadcrash built, bounded by ``flush_timeout``. With nothing reported
nothing was built, so exit costs nothing.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import _coexist, _parent, _settings
from ._internal import emission_guard, record_internal_error
from ._lazy import LazyEmitter
from ._reporter import Reporter
from ._sources import EXIT_STEPS, FACTORIES, Source


@dataclass
class Installation:
    """What one ``instrument()`` set up, to be taken down by ``uninstrument()``."""

    settings: _settings.Settings
    reporter: Reporter
    sources: list[Source]
    parent_capture: bool
    sink: LazyEmitter


_lock = threading.RLock()
_current: Installation | None = None
_exit_steps: list[Callable[[], None]] = []


def current() -> Installation | None:
    """The active installation, if any."""
    return _current


def add_exit_step(step: Callable[[], None]) -> None:
    """Run ``step`` at exit (and at ``uninstrument()``) before the providers shut down; once."""
    with _lock:
        if step not in _exit_steps:
            _exit_steps.append(step)


def install(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    logger_provider: Any = None,
    **options: Any,
) -> None:
    """Hook every configured source; a second call while installed changes nothing.

    Only the hooks are installed: providers and emitters are built by the first report.
    """
    global _current
    with _lock:
        if _current is not None:
            return
        settings = _settings.load(options)
        if settings.disabled:
            return
        sink = LazyEmitter(settings, tracer_provider, meter_provider, logger_provider)
        reporter = Reporter(settings, sink)

        def service_name() -> str:
            return _service_name(sink.providers(), settings)

        sources = [
            FACTORIES[name](reporter, service_name)
            for name in FACTORIES
            if name in settings.sources
        ]
        for name in settings.sources & EXIT_STEPS.keys():
            add_exit_step(EXIT_STEPS[name])
        for source in sources:
            source.install()
        parent_capture = settings.capture_parent and "thread" in settings.sources
        if parent_capture:
            _parent.install()
        _current = Installation(settings, reporter, sources, parent_capture, sink)
        _coexist.install(settings.sources & set(FACTORIES))
        atexit.register(_at_exit)


def _service_name(providers: list[Any], settings: _settings.Settings) -> str:
    """``service.name`` of the first SDK provider's resource, else the environment's."""
    for provider in providers:
        resource = getattr(provider, "resource", None)
        name = getattr(resource, "attributes", {}).get("service.name")
        if isinstance(name, str) and name:
            return name
    # OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES: no SDK needed
    name = settings.service_name or dict(settings.resource_attributes).get("service.name")
    if name:
        return name
    # the SDK's default, only for the opt-in fatal source with no name set: a start-up choice
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415

    name = Resource.create().attributes.get("service.name")
    return name if isinstance(name, str) and name else "unknown_service"


def uninstall() -> None:
    """Undo :func:`install`: restore each hook that is still ours, leave the others inert."""
    global _current
    with _lock:
        installation = _current
        if installation is None:
            return
        atexit.unregister(_at_exit)
        _finish(installation)  # the exit steps still see the installation active
        _current = None
        if installation.parent_capture:
            _parent.uninstall()
        for source in reversed(installation.sources):
            source.uninstall()
        _coexist.uninstall()
        installation.sink.shutdown(installation.settings.flush_timeout)


def _at_exit() -> None:
    installation = _current
    if installation is not None:
        _finish(installation)
        installation.sink.shutdown(installation.settings.flush_timeout, at_exit=True)


def finish() -> None:
    """The exit steps and storm control's last word, shutting nothing down.

    For a child process that ends by ``os._exit``, where no exit handler runs.
    """
    installation = _current
    if installation is not None:
        _finish(installation)


def _finish(installation: Installation) -> None:
    """The exit steps, then storm control's last word: what it held back since its summary."""
    for step in list(_exit_steps):
        try:
            step()
        except Exception as error:
            record_internal_error("exit step", error)
    with emission_guard():
        try:
            installation.reporter.flush_summaries()
        except Exception as error:
            record_internal_error("summaries", error)
