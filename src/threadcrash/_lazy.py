"""Nothing before the first crash: the providers and emitters are built by the first report.

``instrument()`` hands the reporter a :class:`LazyEmitter`. Until something is reported it holds
only the settings and the providers it was given: no SDK import, no exporter, no thread, no
socket. The first report builds the providers (:mod:`._autoconfig`) and the :class:`Emitter`
under a lock, once however many threads crash at the same moment, and then goes the way every
later report goes. When no thread can start (interpreter shutdown), or the lifecycle has already
shut down at exit, the providers are built synchronous, so the report is still exported, within
``flush_timeout``.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

from . import _fork
from ._gate import Summary
from ._internal import record_internal_error
from ._record import CrashRecord
from ._settings import Settings

if TYPE_CHECKING:
    from ._autoconfig import Providers
    from ._emit import Emitter

_instances: weakref.WeakSet[LazyEmitter] = weakref.WeakSet()
_registry_lock = threading.Lock()


class LazyEmitter:
    """The reporter's emitter: builds providers and emitters at the first report, then delegates."""

    def __init__(
        self,
        settings: Settings,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        logger_provider: Any = None,
    ) -> None:
        self._settings = settings
        self._given = (tracer_provider, meter_provider, logger_provider)
        self._lock = threading.Lock()
        self._emitter: Emitter | None = None
        self._providers: Providers | None = None
        self._exited = False
        _track(self)

    # building

    @property
    def built(self) -> bool:
        """Whether the first report has built the emitters (and any providers)."""
        return self._emitter is not None

    @property
    def providers_built(self) -> list[Any]:
        """The providers threadcrash built itself (none before the first report)."""
        providers = self._providers
        return list(providers.built) if providers is not None else []

    def emitter(self) -> Emitter:
        """The emitter, built now (with the providers) if no report has built it yet."""
        emitter = self._emitter
        if emitter is not None:
            return emitter
        with self._lock:
            if self._emitter is None:
                self._emitter = self._build()
            return self._emitter

    def _build(self) -> Emitter:
        # a measured start-up choice: these load the OpenTelemetry SDK, at the first crash only
        from . import _autoconfig  # noqa: PLC0415
        from ._emit import Emitter  # noqa: PLC0415

        if self._providers is None:
            synchronous = self._exited or not threads_can_start()
            try:
                self._providers = _autoconfig.configure(
                    self._settings, *self._given, synchronous=synchronous
                )
            except Exception as error:
                record_internal_error("auto-configuration", error)
                self._providers = _autoconfig.Providers(*self._given)
        providers = self._providers
        return Emitter(
            self._settings,
            providers.tracer_provider,
            providers.meter_provider,
            providers.logger_provider,
        )

    def _exported(self) -> None:
        """After a report: the counter goes out; synchronous providers export and close.

        A later crash builds synchronous providers anew.
        """
        providers = self._providers
        if providers is None:
            return
        if not providers.synchronous:
            providers.export_counter()
            return
        with self._lock:
            if self._providers is not providers:
                return
            self._emitter = self._providers = None
        providers.close_synchronously()

    # the emitter the reporter sees

    def emit(self, record: CrashRecord, counted: CrashRecord) -> None:
        """Report one crash on every signal, as :meth:`Emitter.emit` (building all at the first)."""
        self.emitter().emit(record, counted)
        self._exported()

    def hold_back(self, counted: CrashRecord, reason: str) -> None:
        """Count a crash that is not reported, as :meth:`Emitter.hold_back`."""
        self.emitter().hold_back(counted, reason)
        self._exported()

    def summarize(self, summary: Summary) -> None:
        """Tell a storm summary, as :meth:`Emitter.summarize`."""
        self.emitter().summarize(summary)

    def providers(self) -> list[object]:
        """The providers reports go to; before the first report, those given to ``instrument()``."""
        emitter = self._emitter
        if emitter is not None:
            return emitter.providers()
        return [provider for provider in self._given if provider is not None]

    def flush(self, timeout: float) -> bool:
        """Export what is queued within ``timeout`` seconds; with nothing reported, nothing to do.

        A collector that refuses connections is not waited for: the flush fails at once.
        """
        emitter, providers = self._emitter, self._providers
        if emitter is None:
            return True
        if providers is not None:
            if providers.synchronous:
                return True  # already exported, in the reporting thread
            if providers.refused(timeout / 2):
                return False
        return emitter.flush(timeout)

    def shutdown(self, timeout: float, *, at_exit: bool = False) -> bool:
        """Flush and shut down the providers built here; later first reports build synchronous."""
        with self._lock:
            self._exited = True
            providers = self._providers
        if providers is None:
            return True
        return providers.shutdown(timeout, at_exit=at_exit)


def threads_can_start() -> bool:
    """Whether this interpreter can still start a thread (not at shutdown, not on 3.12's atexit)."""
    if sys.is_finalizing():
        return False
    probe = threading.Thread(target=int, name="threadcrash-probe", daemon=True)
    try:
        probe.start()
    except RuntimeError:  # "can't create new thread at interpreter shutdown"
        return False
    probe.join()
    return True


def _track(sink: LazyEmitter) -> None:
    """A fork taken while another thread builds must not leave the child's lock held."""
    with _registry_lock:
        _instances.add(sink)
    _fork.in_child(_after_fork_in_child)


def _after_fork_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    for sink in list(_instances):
        sink._lock = threading.Lock()
