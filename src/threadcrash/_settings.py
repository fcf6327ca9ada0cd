"""One table of settings: keyword argument > ``THREADCRASH_*`` > standard ``OTEL_*`` > default."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from ._filter import BeforeEmit, import_callable
from ._record import SOURCES
from ._redact import compile_patterns, parse_patterns

T = TypeVar("T")

MAX_TEXT_LENGTH = 65536


class ConfigurationWarning(UserWarning):
    """A setting had a value threadcrash could not use; the default was taken instead."""


class BadValue(ValueError):
    """Raised by a parser; the message says what was expected."""


def parse_bool(text: str) -> bool:
    """``true``/``false`` and the usual synonyms, strictly: a typo is an error, not ``false``."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise BadValue("expected true or false")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise BadValue(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise BadValue(f"expected a whole number from {low} to {high}")
        return value

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float]:
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


@dataclass(frozen=True)
class Option(Generic[T]):
    """One row of the settings table."""

    name: str
    env: str | None
    default: T
    parse: Callable[[str], T]
    doc: str
    otel_env: str | None = None
    shown_default: str | None = None


DEFAULT_SOURCES = frozenset({"thread", "main", "unraisable", "asyncio"})

OPTIONS: tuple[Option[Any], ...] = (
    Option(
        "disabled",
        "THREADCRASH_DISABLED",
        False,
        parse_bool,
        "Turn threadcrash off entirely (also off when `OTEL_SDK_DISABLED=true`).",
        otel_env="OTEL_SDK_DISABLED",
    ),
    Option(
        "sources",
        "THREADCRASH_SOURCES",
        DEFAULT_SOURCES,
        parse_sources,
        "Crash sources to hook, comma-separated: `thread`, `main`, `unraisable`, `asyncio`, "
        "`fatal` (opt-in), or `all`.",
    ),
    Option(
        "chain",
        "THREADCRASH_CHAIN",
        True,
        parse_bool,
        "Call the previously installed hook (by default CPython's, which prints the traceback).",
    ),
    Option(
        "max_message_length",
        "THREADCRASH_MAX_MESSAGE_LENGTH",
        4096,
        _int_between(64, MAX_TEXT_LENGTH),
        "Longest `exception.message`, in characters.",
    ),
    Option(
        "max_stacktrace_length",
        "THREADCRASH_MAX_STACKTRACE_LENGTH",
        32768,
        _int_between(256, MAX_TEXT_LENGTH),
        "Longest `exception.stacktrace`, in characters (the innermost frames are kept).",
    ),
    Option(
        "capture_parent",
        "THREADCRASH_CAPTURE_PARENT",
        True,
        parse_bool,
        "Remember the current span at `Thread.start` so a crash joins the trace that started "
        "the thread.",
    ),
    Option(
        "structlog",
        "THREADCRASH_STRUCTLOG",
        None,
        parse_tristate,
        "Emit structlog events: `auto` (when the application configured structlog), `true`, "
        "`false`.",
    ),
    Option(
        "max_thread_roles",
        "THREADCRASH_MAX_THREAD_ROLES",
        50,
        _int_between(0, 10000),
        "Distinct thread roles kept as a metric attribute; later ones are counted as `other`.",
    ),
    Option(
        "flush_timeout",
        "THREADCRASH_FLUSH_TIMEOUT",
        3.0,
        _float_between(0.0, 60.0),
        "Seconds to wait for export when a crash ends the process, and at exit.",
    ),
    Option(
        "report_keyboard_interrupt",
        "THREADCRASH_REPORT_KEYBOARD_INTERRUPT",
        False,
        parse_bool,
        "Report a `KeyboardInterrupt` that ends the process (source `main`) as a crash.",
    ),
    Option(
        "crash_dir",
        "THREADCRASH_CRASH_DIR",
        "",
        str,
        "Directory of the `fatal` source's crash files (default: `threadcrash` under the "
        "temporary directory).",
    ),
    Option(
        "rate_limit",
        "THREADCRASH_RATE_LIMIT",
        1.0,
        _float_between(0.0, 1e6),
        "Storm control: reports (spans, log records, structlog events) per second per "
        "fingerprint once the burst is spent; `0` turns it off. The counter is never limited.",
    ),
    Option(
        "burst",
        "THREADCRASH_BURST",
        10,
        _int_between(1, 1_000_000),
        "Storm control: reports of one fingerprint let through at once before the rate applies.",
    ),
    Option(
        "summary_interval",
        "THREADCRASH_SUMMARY_INTERVAL",
        60.0,
        _float_between(1.0, 86400.0),
        "Storm control: longest wait, in seconds, before suppressed crashes of a fingerprint "
        "are summed up in a summary event (told on that fingerprint's next crash).",
    ),
    Option(
        "redact",
        "THREADCRASH_REDACT",
        (),
        parse_patterns,
        "Extra redaction patterns for messages and stack traces: one regular expression, or a "
        "JSON list of them; a group named `secret` (or else the first group) is replaced.",
        shown_default="none",
    ),
    Option(
        "redact_defaults",
        "THREADCRASH_REDACT_DEFAULTS",
        True,
        parse_bool,
        "Redact passwords, secrets, tokens, API keys, bearer tokens and URL credentials.",
    ),
    Option(
        "before_emit",
        "THREADCRASH_BEFORE_EMIT",
        None,
        import_callable,
        "`module:function` called with each report's `CrashRecord` before any signal; it "
        "returns the record, an edited copy (`dataclasses.replace`) or None to drop it.",
        shown_default="none",
    ),
)

_BY_NAME: Mapping[str, Option[Any]] = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """The resolved settings: one field per row of :data:`OPTIONS`."""

    disabled: bool = False
    sources: frozenset[str] = DEFAULT_SOURCES
    chain: bool = True
    max_message_length: int = 4096
    max_stacktrace_length: int = 32768
    capture_parent: bool = True
    structlog: bool | None = None
    max_thread_roles: int = 50
    flush_timeout: float = 3.0
    report_keyboard_interrupt: bool = False
    crash_dir: str = ""
    rate_limit: float = 1.0
    burst: int = 10
    summary_interval: float = 60.0
    redact: tuple[re.Pattern[str], ...] = ()
    redact_defaults: bool = True
    before_emit: BeforeEmit | None = None


_warned: set[tuple[str, str]] = set()


def warn_bad_value(variable: str, value: str, reason: str, default: object) -> None:
    """One warning per variable and value, naming both; then the default applies."""
    if (variable, value) in _warned:
        return
    _warned.add((variable, value))
    shown = value if len(value) <= 80 else value[:80] + "..."
    warnings.warn(
        f"threadcrash: ignoring {variable}={shown!r}: {reason}; using the default "
        f"({_describe(default)})",
        ConfigurationWarning,
        stacklevel=4,
    )


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "auto"
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return str(value)


def _from_environment(option: Option[T], environ: Mapping[str, str]) -> tuple[bool, T]:
    for variable in (option.env, option.otel_env):
        if variable is None:
            continue
        raw = environ.get(variable)
        if raw is None or raw.strip() == "":
            continue
        try:
            return True, option.parse(raw)
        except BadValue as error:
            shown = option.default if option.shown_default is None else option.shown_default
            warn_bad_value(variable, raw, str(error), shown)
            return False, option.default
    return False, option.default


def load(kwargs: Mapping[str, object], environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every option; unknown keyword arguments are a programming error (TypeError)."""
    unknown = set(kwargs) - set(_BY_NAME)
    if unknown:
        raise TypeError(f"threadcrash: unknown option {sorted(unknown)[0]!r}")
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for option in OPTIONS:
        if option.name in kwargs:
            values[option.name] = _check_keyword(option, kwargs[option.name])
        else:
            values[option.name] = _from_environment(option, env)[1]
    if _disabled_by_otel_list(env):
        values["disabled"] = True
    return Settings(**values)  # type: ignore[arg-type]


def _check_keyword(option: Option[Any], value: object) -> object:
    """Keyword values are checked like environment values, but a wrong one raises."""
    if isinstance(value, str) and not isinstance(option.default, str):
        try:
            return option.parse(value)
        except BadValue as error:
            raise ValueError(f"threadcrash: {option.name}={value!r}: {error}") from None
    if option.name == "sources" and isinstance(value, (set, frozenset, list, tuple)):
        return parse_sources(",".join(str(item) for item in value))
    if option.name == "redact" and isinstance(value, (list, tuple)):
        return compile_patterns(value)
    if option.name == "before_emit" and value is not None and not callable(value):
        raise TypeError(f"threadcrash: before_emit must be callable, not {value!r}")
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not isinstance(option.default, bool)
    ):
        try:
            return option.parse(str(value))
        except BadValue as error:
            raise ValueError(f"threadcrash: {option.name}={value!r}: {error}") from None
    return value


def _disabled_by_otel_list(environ: Mapping[str, str]) -> bool:
    listed = environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return "threadcrash" in {part.strip() for part in listed.split(",")}


def field_names() -> list[str]:
    """The fields of :class:`Settings`, to check the table against them."""
    return [item.name for item in fields(Settings)]
