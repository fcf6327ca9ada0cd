"""The public entry points ``instrument()`` and ``uninstrument()``."""

from __future__ import annotations

from typing import Any

from . import _lifecycle


def instrument(**kwargs: Any) -> None:
    """Report every uncaught exception; idempotent (one crash, one report, however often called).

    Keyword arguments: ``tracer_provider``, ``meter_provider``, ``logger_provider`` (else the
    global ones, or, where none is set and ``OTEL_*`` asks for export, SDK providers built from
    the environment) and any setting of the settings table, e.g. ``chain=False``.
    """
    _lifecycle.install(**kwargs)


def uninstrument() -> None:
    """Exact mirror of :func:`instrument`; hooks replaced by someone else since are left inert."""
    _lifecycle.uninstall()
