"""Internal errors: our own failures, never reported as crashes and never raised into the host."""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable

_listeners: list[Callable[[str, str], None]] = []
_state = threading.local()


def record_internal_error(where: str, exc: BaseException) -> None:
    """Note a failure of our own at ``where``; only formatted text is kept or passed on."""
    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except BaseException:
        text = f"{type(exc).__qualname__} (traceback unavailable)"
    # a broken logging handler or listener must not turn our error into the host's
    with contextlib.suppress(BaseException):
        import logging  # not at start-up: only our own errors use it  # noqa: PLC0415

        logging.getLogger("threadcrash").debug("threadcrash internal error in %s:\n%s", where, text)
    for listener in list(_listeners):
        with contextlib.suppress(BaseException):
            listener(where, text)


def add_listener(listener: Callable[[str, str], None]) -> Callable[[], None]:
    """Call ``listener(where, text)`` on every internal error; return a function that removes it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def in_emission() -> bool:
    """Whether this thread is already inside our emission path."""
    return getattr(_state, "active", False)


class emission_guard:
    """Mark this thread as emitting: a crash raised inside our own path is not re-reported."""

    __slots__ = ("_outer",)

    def __enter__(self) -> bool:
        self._outer = getattr(_state, "active", False)
        _state.active = True
        return self._outer

    def __exit__(self, *exc_info: object) -> None:
        _state.active = self._outer
