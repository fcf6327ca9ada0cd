"""One table of settings: keyword argument > ``THREADCRASH_*`` > standard ``OTEL_*`` > default."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from ._filter import BeforeEmit, import_callable
from ._record import SOURCES

T = TypeVar("T")


# the redaction module compiles its rules at import: loaded by the first report, or when asked
def parse_patterns(text: str) -> tuple[re.Pattern[str], ...]:
    """``THREADCRASH_REDACT``: one regular expression, or a JSON list of them."""
    from ._redact import parse_patterns

    return parse_patterns(text)


def compile_patterns(patterns: Any) -> tuple[re.Pattern[str], ...]:
    """The ``redact`` keyword: regular expressions, as strings or compiled."""
    from ._redact import compile_patterns

    return compile_patterns(patterns)


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
    from urllib.parse import unquote

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


DEFAULT_SOURCES = frozenset({"thread", "main", "unraisable", "asyncio", "future", "process"})

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
        "`future`, `process`, `fatal` (opt-in), or `all`.",
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
        "max_fingerprints",
        "THREADCRASH_MAX_FINGERPRINTS",
        100,
        _int_between(0, 10000),
        "Distinct crash groups (`threadcrash.fingerprint`) kept as a label of the crash counter; "
        "later ones are counted as `other`.",
    ),
    Option(
        "flush_timeout",
        "THREADCRASH_FLUSH_TIMEOUT",
        3.0,
        _float_between(0.0, 60.0),
        "Seconds to wait for export when a crash ends the process, and at exit.",
    ),
    Option(
        "global_providers",
        "THREADCRASH_GLOBAL_PROVIDERS",
        False,
        parse_bool,
        "Make the providers threadcrash builds the process's global ones, so other "
        "instrumentation exports through them too (by default they are threadcrash's own).",
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
        "Redact secrets from every text that leaves threadcrash: key=value forms, vendor "
        "tokens, URL credentials, Authorization headers, high-entropy source-line literals "
        "(see Redaction).",
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
    Option(
        "exception_signal",
        "THREADCRASH_EXCEPTION_SIGNAL",
        "logs/dup",
        parse_exception_signal,
        "`logs/dup`: the exception goes in the log record and in the span's `exception` event; "
        "`logs`: in the log record only (the span keeps its status and tags).",
        otel_env="OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN",
    ),
    Option(
        "disabled_instrumentations",
        None,
        (),
        parse_list,
        "`threadcrash` (or `*`) in this list turns threadcrash off, as it does for "
        "`opentelemetry-instrument`.",
        otel_env="OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
        shown_default="empty",
    ),
    Option(
        "service_name",
        None,
        None,
        parse_text,
        "`service.name` of the resource, for the providers threadcrash builds.",
        otel_env="OTEL_SERVICE_NAME",
        shown_default="`unknown_service`",
    ),
    Option(
        "resource_attributes",
        None,
        (),
        parse_pairs,
        "More resource attributes, `key=value,key=value`, for the providers threadcrash builds.",
        otel_env="OTEL_RESOURCE_ATTRIBUTES",
        shown_default="empty",
    ),
    *(
        Option(
            f"{signal}_exporter",
            None,
            None,
            parse_names,
            f"Exporters of the {signal} threadcrash builds a provider for: `otlp`, `console`, "
            "`none`, or any name of an installed exporter entry point.",
            otel_env=f"OTEL_{signal.upper()}_EXPORTER",
            shown_default=f"`otlp` when an OTLP endpoint for {signal} is set, else none",
        )
        for signal in ("traces", "metrics", "logs")
    ),
    *(
        option
        for signal in ("", "traces", "metrics", "logs")
        for option in (
            Option(
                f"otlp_{signal}_endpoint".replace("__", "_"),
                None,
                None,
                parse_endpoint,
                (
                    f"OTLP endpoint for {signal} (the full URL over HTTP)"
                    if signal
                    else "OTLP endpoint; over HTTP, `/v1/<signal>` is appended"
                ),
                otel_env=f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT".replace("__", "_"),
                shown_default="none" if signal else "none (the SDK's `http://localhost:4318`)",
            ),
            Option(
                f"otlp_{signal}_protocol".replace("__", "_"),
                None,
                None,
                parse_protocol,
                (
                    f"OTLP protocol for {signal}"
                    if signal
                    else "OTLP protocol, `http/protobuf` or `grpc` (the `grpc` extra)"
                ),
                otel_env=f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL".replace("__", "_"),
                shown_default=(
                    "the general one"
                    if signal
                    else "`http/protobuf`, or `grpc` when only gRPC is installed"
                ),
            ),
            Option(
                f"otlp_{signal}_headers".replace("__", "_"),
                None,
                None,
                parse_pairs,
                f"Headers of every OTLP request{' for ' + signal if signal else ''}, "
                "`key=value,key=value`",
                otel_env=f"OTEL_EXPORTER_OTLP_{signal.upper()}_HEADERS".replace("__", "_"),
                shown_default="the general one" if signal else "none",
            ),
            Option(
                f"otlp_{signal}_timeout".replace("__", "_"),
                None,
                None,
                _float_between(0.001, 600.0),
                f"Seconds per OTLP export{' of ' + signal if signal else ''} (seconds, as the "
                "Python SDK reads it)",
                otel_env=f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT".replace("__", "_"),
                shown_default="the general one" if signal else "10",
            ),
            Option(
                f"otlp_{signal}_compression".replace("__", "_"),
                None,
                None,
                parse_compression,
                f"Compression of OTLP requests{' for ' + signal if signal else ''}: "
                "`gzip`, `deflate` (HTTP only), `none`",
                otel_env=f"OTEL_EXPORTER_OTLP_{signal.upper()}_COMPRESSION".replace("__", "_"),
                shown_default="the general one" if signal else "none",
            ),
        )
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
    max_fingerprints: int = 100
    flush_timeout: float = 3.0
    global_providers: bool = False
    report_keyboard_interrupt: bool = False
    crash_dir: str = ""
    rate_limit: float = 1.0
    burst: int = 10
    summary_interval: float = 60.0
    redact: tuple[re.Pattern[str], ...] = ()
    redact_defaults: bool = True
    before_emit: BeforeEmit | None = None
    exception_signal: str = "logs/dup"
    disabled_instrumentations: tuple[str, ...] = ()
    service_name: str | None = None
    resource_attributes: tuple[tuple[str, str], ...] = ()
    traces_exporter: tuple[str, ...] | None = None
    metrics_exporter: tuple[str, ...] | None = None
    logs_exporter: tuple[str, ...] | None = None
    otlp_endpoint: str | None = None
    otlp_protocol: str | None = None
    otlp_headers: tuple[tuple[str, str], ...] | None = None
    otlp_timeout: float | None = None
    otlp_compression: str | None = None
    otlp_traces_endpoint: str | None = None
    otlp_traces_protocol: str | None = None
    otlp_traces_headers: tuple[tuple[str, str], ...] | None = None
    otlp_traces_timeout: float | None = None
    otlp_traces_compression: str | None = None
    otlp_metrics_endpoint: str | None = None
    otlp_metrics_protocol: str | None = None
    otlp_metrics_headers: tuple[tuple[str, str], ...] | None = None
    otlp_metrics_timeout: float | None = None
    otlp_metrics_compression: str | None = None
    otlp_logs_endpoint: str | None = None
    otlp_logs_protocol: str | None = None
    otlp_logs_headers: tuple[tuple[str, str], ...] | None = None
    otlp_logs_timeout: float | None = None
    otlp_logs_compression: str | None = None


_warned: set[tuple[str, str]] = set()


def warn_bad_value(variable: str, value: str, reason: str, default: object) -> None:
    """One warning per variable and value, naming both; then the default applies."""
    if (variable, value) in _warned:
        return
    _warned.add((variable, value))
    shown = value if len(value) <= 80 else value[:80] + "..."
    message = (
        f"threadcrash: ignoring {variable}={shown!r}: {reason}; using the default "
        f"({_describe(default)})"
    )
    try:
        warnings.warn(message, ConfigurationWarning, stacklevel=4)
    except Warning:  # warnings turned into errors (-W error) must not make us raise
        with contextlib.suppress(Exception):  # no stderr at all: the default still applies
            sys.stderr.write(f"ConfigurationWarning: {message}\n")


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
            warn_bad_value(variable, raw, str(error), _default_text(option))
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
    listed: tuple[str, ...] = values["disabled_instrumentations"]  # type: ignore[assignment]
    if {"threadcrash", "*"} & set(listed):
        values["disabled"] = True
    return Settings(**values)  # type: ignore[arg-type]


def _check_keyword(option: Option[Any], value: object) -> object:
    """Keyword values are checked like environment values, but a wrong one raises."""
    if isinstance(value, str) and option.parse is not str:
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
    if option.parse is parse_pairs and isinstance(value, Mapping):
        return tuple((str(key), str(item)) for key, item in value.items())
    if option.parse is parse_list and isinstance(value, (list, tuple)):
        return parse_list(",".join(str(item) for item in value))
    if option.parse is parse_names and isinstance(value, (list, tuple)):
        return parse_names(",".join(str(item) for item in value) or "none")
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


def field_names() -> list[str]:
    """The fields of :class:`Settings`, to check the table against them."""
    return [item.name for item in fields(Settings)]


def _default_text(option: Option[Any]) -> object:
    if option.shown_default is not None:
        return option.shown_default.replace("`", "")
    return option.default


README_START = "<!-- settings table: generated from threadcrash._settings.OPTIONS -->"
README_END = "<!-- end of settings table -->"


def render_table() -> str:
    """The README's table of settings, generated from :data:`OPTIONS` (Markdown)."""
    lines = [
        "| variable | keyword | default | meaning |",
        "|---|---|---|---|",
    ]
    for option in OPTIONS:
        variables = [name for name in (option.env, option.otel_env) if name]
        shown = " > ".join(f"`{name}`" for name in variables)
        default = option.shown_default
        if default is None:
            default = f"`{_describe(option.default)}`" if option.default != "" else "empty"
        lines.append(f"| {shown} | `{option.name}` | {default} | {option.doc} |")
    return "\n".join(lines) + "\n"


def rewrite_readme(text: str) -> str:
    """``text`` with the block between the README markers replaced by :func:`render_table`."""
    head, start, rest = text.partition(README_START)
    _, end, tail = rest.partition(README_END)
    if not start or not end:
        raise ValueError("README has no settings table markers")
    return f"{head}{README_START}\n{render_table()}{README_END}{tail}"
