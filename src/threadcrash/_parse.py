"""The parsers of the settings table: text (an environment value) to a typed value, or BadValue.

Each is strict: a typo is an error (one warning, then the default), never a quiet other value.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar

from ._errors import BadValue
from ._filter import BeforeEmit
from ._record import SOURCES

T = TypeVar("T")

MAX_TEXT_LENGTH = 65536


def parse_bool(text: str) -> bool:
    """``true``/``false`` and the usual synonyms, strictly: a typo is an error, not ``false``."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise BadValue("expected true or false")


def int_between(low: int, high: int) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise BadValue(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise BadValue(f"expected a whole number from {low} to {high}")
        return value

    return parse


def float_between(low: float, high: float) -> Callable[[str], float]:
    """A number from ``low`` to ``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise BadValue(f"expected a number from {low:g} to {high:g}") from None
        if not low <= value <= high:  # also rejects nan
            raise BadValue(f"expected a number from {low:g} to {high:g}")
        return value

    return parse


def parse_sources(text: str) -> frozenset[str]:
    """A comma-separated subset of the known crash sources; ``all`` for every one."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    if names == {"all"}:
        return frozenset(SOURCES)
    unknown = names - set(SOURCES)
    if unknown:
        raise BadValue(f"unknown source {sorted(unknown)[0]!r}; known: {', '.join(SOURCES)}")
    return frozenset(names)


def parse_tristate(text: str) -> bool | None:
    """``auto`` (None), or a strict boolean."""
    if text.strip().lower() == "auto":
        return None
    try:
        return parse_bool(text)
    except BadValue:
        raise BadValue("expected auto, true or false") from None


def parse_names(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (``OTEL_*_EXPORTER``); ``none`` alone for none at all."""
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    for name in names:
        if name != "*" and not name.replace("_", "").replace("-", "").replace("/", "").isalnum():
            raise BadValue(f"{name!r} is not a name")
    if "none" in names:
        if len(names) > 1:
            raise BadValue("none cannot be combined with other names")
        return ()
    return names


def parse_list(text: str) -> tuple[str, ...]:
    """A comma-separated list of anything (``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_protocol(text: str) -> str:
    """An OTLP protocol that Python can speak: ``grpc`` or ``http/protobuf``."""
    value = text.strip().lower()
    if value in ("grpc", "http/protobuf"):
        return value
    if value == "http/json":
        raise BadValue("http/json has no Python exporter; expected grpc or http/protobuf")
    raise BadValue("expected grpc or http/protobuf")


def parse_endpoint(text: str) -> str:
    """An ``http://`` or ``https://`` URL."""
    value = text.strip()
    scheme, _, rest = value.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or any(c.isspace() for c in value):
        raise BadValue("expected a URL starting with http:// or https://")
    return value


def parse_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``key=value`` pairs separated by commas, percent-decoded (W3C baggage style)."""
    from urllib.parse import unquote  # lazy: 4 ms at start-up for a rare variable (measured)  # noqa: PLC0415

    pairs = []
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = unquote(key.strip())
        if not sep or not key:
            raise BadValue(f"expected key=value pairs separated by commas, got {part.strip()!r}")
        pairs.append((key, unquote(value.strip())))
    return tuple(pairs)


def parse_compression(text: str) -> str:
    """``gzip``, ``deflate`` or ``none``."""
    value = text.strip().lower()
    if value not in ("gzip", "deflate", "none"):
        raise BadValue("expected gzip, deflate or none")
    return value


def parse_text(text: str) -> str:
    """Any non-empty text, stripped."""
    value = text.strip()
    if not value:
        raise BadValue("expected some text")
    return value


def parse_exception_signal(text: str) -> str:
    """``logs`` (the log record only) or ``logs/dup`` (log record and span event)."""
    value = text.strip().lower()
    if value not in ("logs", "logs/dup"):
        raise BadValue("expected logs or logs/dup")
    return value


def parse_patterns(text: str) -> tuple[re.Pattern[str], ...]:
    """A JSON list of regular expressions, or else the whole text as one regular expression."""
    stripped = text.strip()
    candidates: list[object] = [stripped]
    if stripped.startswith("["):
        import json  # lazy: 2 ms at start-up for a rare variable (measured)  # noqa: PLC0415

        try:
            loaded = json.loads(stripped)
        except ValueError:
            pass
        else:
            candidates = loaded  # text that starts with "[" and is JSON is a list
    try:
        return compile_patterns(candidates)
    except (TypeError, re.error) as error:
        raise BadValue(f"not a regular expression ({error})") from None


def compile_patterns(patterns: Iterable[object]) -> tuple[re.Pattern[str], ...]:
    """Compile strings, keep compiled patterns; anything else is a TypeError."""
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        if isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
            compiled.append(pattern)
        elif isinstance(pattern, str):
            compiled.append(re.compile(pattern))
        else:
            raise TypeError(f"a redaction pattern must be a str or re.Pattern, not {pattern!r}")
    return tuple(compiled)


def import_callable(text: str) -> BeforeEmit:
    """``package.module:function`` (attribute paths allowed after the colon), imported now."""
    module_name, colon, attribute = text.strip().partition(":")
    if not colon or not module_name or not attribute:
        raise BadValue("expected module:function")
    try:
        target: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except Exception as error:
        raise BadValue(f"cannot import it ({type(error).__name__}: {error})") from None
    if not callable(target):
        raise BadValue("it is not callable")
    return target


@dataclass(frozen=True)
class Option(Generic[T]):
    """One row of the settings table: keyword, variables, default, parser and description."""

    name: str
    env: str | None
    default: T
    parse: Callable[[str], T]
    doc: str
    otel_env: str | None = None
    shown_default: str | None = None


def setting(
    env: str | None,
    default: object,
    parse: Callable[[str], Any],
    doc: str,
    *,
    otel_env: str | None = None,
    shown_default: str | None = None,
) -> Any:
    """A dataclass field that is also a row of the settings table (named after the field)."""
    row = Option("", env, default, parse, doc, otel_env, shown_default)
    return field(default=default, metadata={ROW: row})


ROW = "threadcrash.option"


def rows(cls: type[Any]) -> tuple[Option[Any], ...]:
    """The rows declared on the fields of the dataclass ``cls``, in order, each named."""
    return tuple(
        replace(item.metadata[ROW], name=item.name) for item in fields(cls) if ROW in item.metadata
    )
