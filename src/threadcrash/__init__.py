"""threadcrash: make thread crashes visible."""

from ._version import __version__

__all__ = ["__version__"]
