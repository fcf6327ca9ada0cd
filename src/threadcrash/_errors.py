"""The settings' errors and their one warning: a leaf module, importing nothing of threadcrash."""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class ConfigurationWarning(UserWarning):
    """A setting had a value threadcrash could not use; the default was taken instead."""


class BadValue(ValueError):
    """Raised by a parser; the message says what was expected."""


_warned: set[tuple[str, str]] = set()


def warn_bad_value(variable: str, value: str, reason: str, default: object) -> None:
    """One warning per variable and value, naming both; then the default applies."""
    if (variable, value) in _warned:
        return
    _warned.add((variable, value))
    shown = value if len(value) <= 80 else value[:80] + "..."
    message = (
        f"threadcrash: ignoring {variable}={shown!r}: {reason}; using the default "
        f"({describe(default)})"
    )
    warn(message)


def warn(message: str) -> None:
    """A :class:`ConfigurationWarning` that points at the program's line, not at threadcrash's.

    That line is the first caller outside the package: the ``instrument()`` call, for one.
    """
    frame = inspect.currentframe()
    level = 0
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    try:
        warnings.warn(message, ConfigurationWarning, stacklevel=level + 1)
    except Warning:  # warnings turned into errors (-W error) must not make us raise
        with contextlib.suppress(Exception):  # no stderr at all: the default still applies
            sys.stderr.write(f"ConfigurationWarning: {message}\n")


def describe(value: object) -> str:
    """A default as the warning and the README show it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "auto"
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return str(value)
