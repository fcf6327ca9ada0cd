"""threadcrash: every exception that would die quietly becomes a log, a span and a count."""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._api import instrument, uninstrument
from ._errors import ConfigurationWarning
from ._record import CrashRecord
from ._version import __version__

if _TYPE_CHECKING:
    from ._instrumentor import ThreadCrashInstrumentor

__all__ = [
    "ConfigurationWarning",
    "CrashRecord",
    "ThreadCrashInstrumentor",
    "__version__",
    "instrument",
    "uninstrument",
]


def __getattr__(name: str) -> _Any:
    if name == "ThreadCrashInstrumentor":
        # resolved on first use: import threadcrash does not load OTel's instrumentor base
        from ._instrumentor import ThreadCrashInstrumentor  # noqa: PLC0415

        return ThreadCrashInstrumentor
    raise AttributeError(f"module 'threadcrash' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
