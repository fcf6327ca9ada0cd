"""Run a function once a module is imported, without importing it ourselves.

A program that never imports asyncio must not pay for it because threadcrash hooks asyncio. So
:func:`when_imported` calls its function at once if the module is loaded, and otherwise puts a
finder in front of ``sys.meta_path`` that lets the usual finders find the module, executes it
with the loader they chose, and then calls the function. The finder and the loader wrapper step
out of the way as soon as they are done: the module keeps its own loader and spec.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from . import _fork
from ._internal import record_internal_error

_lock = threading.RLock()
_waiting: dict[str, list[Callable[[ModuleType], None]]] = {}


def when_imported(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Call ``callback(module)`` now if ``name`` is imported, else right after its import."""
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            _waiting.setdefault(name, []).append(callback)
            if _FINDER not in sys.meta_path:
                sys.meta_path.insert(0, _FINDER)
            return
    callback(module)


def forget(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Undo :func:`when_imported` for a callback not called yet."""
    with _lock:
        callbacks = _waiting.get(name, [])
        if callback in callbacks:
            callbacks.remove(callback)
        if not callbacks:
            _waiting.pop(name, None)
        if not _waiting and _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)


def _take(name: str) -> list[Callable[[ModuleType], None]]:
    with _lock:
        callbacks = _waiting.pop(name, [])
        if not _waiting and _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
        return callbacks


class _Finder:
    """A meta path finder that finds nothing itself: it wraps the loader of watched modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> Any:
        if fullname not in _waiting:
            return None
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _Loader(spec.loader)
            return spec
        return None

    def invalidate_caches(self) -> None:
        """Nothing is cached here."""


class _Loader:
    """Executes the module with its real loader, puts that loader back, then calls back."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: Any) -> ModuleType | None:
        result: ModuleType | None = self._loader.create_module(spec)
        return result

    def exec_module(self, module: ModuleType) -> None:
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        self._loader.exec_module(module)
        for callback in _take(module.__name__):
            try:
                callback(module)
            except Exception as error:
                record_internal_error(f"after importing {module.__name__}", error)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # a fork taken while another thread held it must not leave it held


_FINDER = _Finder()
_fork.in_child(_after_fork_in_child)
