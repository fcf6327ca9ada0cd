"""Install and uninstall as exact mirrors; all lifecycle state lives here, behind one lock."""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass
from typing import Any

from . import _autoconfig, _coexist, _flush, _parent, _settings
from ._emit import Emitter
from ._internal import emission_guard, record_internal_error
from ._reporter import Reporter
from ._sources import FACTORIES, Source


@dataclass
class Installation:
    """What one ``instrument()`` set up, to be taken down by ``uninstrument()``."""

    settings: _settings.Settings
    reporter: Reporter
    sources: list[Source]
    parent_capture: bool
    emitter: Emitter | None = None
    providers: _autoconfig.Providers | None = None


_lock = threading.RLock()
_current: Installation | None = None


def current() -> Installation | None:
    """The active installation, if any."""
    return _current


def install(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    logger_provider: Any = None,
    **options: Any,
) -> None:
    """Hook every configured source; a second call while installed changes nothing."""
    global _current
    with _lock:
        if _current is not None:
            return
        settings = _settings.load(options)
        if settings.disabled:
            return
        providers = _autoconfig.configure(
            settings, tracer_provider, meter_provider, logger_provider
        )
        emitter = Emitter(
            settings, providers.tracer_provider, providers.meter_provider, providers.logger_provider
        )
        reporter = Reporter(settings, emitter)
        sources = [FACTORIES[name](reporter) for name in FACTORIES if name in settings.sources]
        for source in sources:
            source.install()
        parent_capture = settings.capture_parent and "thread" in settings.sources
        if parent_capture:
            _parent.install()
        _current = Installation(
            settings, reporter, sources, parent_capture, emitter=emitter, providers=providers
        )
        _coexist.install(settings.sources & set(FACTORIES))
        # registered after the auto-configured providers' exit hook, so it runs before it
        atexit.register(_flush_summaries, emitter)


def uninstall() -> None:
    """Undo :func:`install`: restore each hook that is still ours, leave the others inert."""
    global _current
    with _lock:
        installation, _current = _current, None
        if installation is None:
            return
        if installation.parent_capture:
            _parent.uninstall()
        for source in reversed(installation.sources):
            source.uninstall()
        if installation.emitter is not None:
            atexit.unregister(_flush_summaries)
            _flush_summaries(installation.emitter)
        _coexist.uninstall()
        if installation.providers is not None:
            installation.providers.shutdown(installation.settings.flush_timeout)


def _flush_summaries(emitter: Emitter) -> None:
    """Storm control's last word: what it held back since its last summary."""
    with emission_guard():
        try:
            emitter.flush_summaries()
        except Exception as error:
            record_internal_error("summaries", error)


def flush(timeout: float | None = None) -> bool:
    """Export what the active installation's providers hold; True if it all went.

    Waits at most ``timeout`` seconds (default: the ``flush_timeout`` setting), never raises and
    never starts a thread once the interpreter is finalizing: for sources that must flush before
    they chain to the previous hook.
    """
    installation = _current
    if installation is None:
        return True
    if timeout is None:
        return installation.reporter.flush()
    return _flush.flush(installation.reporter.providers(), timeout)
