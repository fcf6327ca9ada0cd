"""threadcrash: every exception that would die quietly becomes a log, a span and a count."""

from ._instrumentor import ThreadCrashInstrumentor, instrument, uninstrument
from ._record import CrashRecord
from ._settings import ConfigurationWarning
from ._version import __version__

__all__ = [
    "ConfigurationWarning",
    "CrashRecord",
    "ThreadCrashInstrumentor",
    "__version__",
    "instrument",
    "uninstrument",
]
