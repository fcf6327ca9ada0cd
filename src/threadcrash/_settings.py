"""One table of settings: keyword argument > ``THREADCRASH_*`` > standard ``OTEL_*`` > default.

Each setting is declared once, as a field (here, or in a signal's group of ``_export_settings``)
with its variables, parser, default and description; :data:`OPTIONS` is derived from them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import BadValue, ConfigurationWarning, warn_bad_value
from ._export_settings import DEFAULT as DEFAULT_EXPORTS
from ._export_settings import ROWS as EXPORT_ROWS
from ._export_settings import Export, exports, keywords
from ._filter import BeforeEmit
from ._parse import (
    MAX_TEXT_LENGTH,
    Option,
    compile_patterns,
    float_between,
    import_callable,
    int_between,
    parse_bool,
    parse_exception_signal,
    parse_list,
    parse_names,
    parse_pairs,
    parse_patterns,
    parse_sources,
    parse_text,
    parse_tristate,
    rows,
    setting,
)

__all__ = ["OPTIONS", "BadValue", "ConfigurationWarning", "Option", "Settings", "load"]

DEFAULT_SOURCES = frozenset({"thread", "main", "unraisable", "asyncio", "future", "process"})


@dataclass(frozen=True)
class Settings:
    """The resolved settings: one field per setting, and the export group of each signal."""

    disabled: bool = setting(
        "THREADCRASH_DISABLED",
        False,
        parse_bool,
        "Turn threadcrash off entirely (also off when `OTEL_SDK_DISABLED=true`).",
        otel_env="OTEL_SDK_DISABLED",
    )
    sources: frozenset[str] = setting(
        "THREADCRASH_SOURCES",
        DEFAULT_SOURCES,
        parse_sources,
        "Crash sources to hook, comma-separated: `thread`, `main`, `unraisable`, `asyncio`, "
        "`future`, `process`, `fatal` (opt-in), or `all`.",
    )
    chain: bool = setting(
        "THREADCRASH_CHAIN",
        True,
        parse_bool,
        "Call the previously installed hook (by default CPython's, which prints the traceback).",
    )
    max_message_length: int = setting(
        "THREADCRASH_MAX_MESSAGE_LENGTH",
        4096,
        int_between(64, MAX_TEXT_LENGTH),
        "Longest `exception.message`, in characters.",
    )
    max_stacktrace_length: int = setting(
        "THREADCRASH_MAX_STACKTRACE_LENGTH",
        32768,
        int_between(256, MAX_TEXT_LENGTH),
        "Longest `exception.stacktrace`, in characters (the innermost frames are kept).",
    )
    capture_parent: bool = setting(
        "THREADCRASH_CAPTURE_PARENT",
        True,
        parse_bool,
        "Remember the current span at `Thread.start` so a crash joins the trace that started "
        "the thread.",
    )
    structlog: bool | None = setting(
        "THREADCRASH_STRUCTLOG",
        None,
        parse_tristate,
        "Emit structlog events: `auto` (when the application configured structlog), `true`, "
        "`false`.",
    )
    max_thread_roles: int = setting(
        "THREADCRASH_MAX_THREAD_ROLES",
        50,
        int_between(0, 10000),
        "Distinct thread roles kept as a metric attribute; later ones are counted as `other`.",
    )
    max_fingerprints: int = setting(
        "THREADCRASH_MAX_FINGERPRINTS",
        100,
        int_between(0, 10000),
        "Distinct crash groups (`threadcrash.fingerprint`) kept as a label of the crash counter; "
        "later ones are counted as `other`.",
    )
    flush_timeout: float = setting(
        "THREADCRASH_FLUSH_TIMEOUT",
        3.0,
        float_between(0.0, 60.0),
        "Seconds to wait for export when a crash ends the process, and at exit.",
    )
    global_providers: bool = setting(
        "THREADCRASH_GLOBAL_PROVIDERS",
        False,
        parse_bool,
        "Make the providers threadcrash builds the process's global ones, so other "
        "instrumentation exports through them too (by default they are threadcrash's own).",
    )
    report_keyboard_interrupt: bool = setting(
        "THREADCRASH_REPORT_KEYBOARD_INTERRUPT",
        False,
        parse_bool,
        "Report a `KeyboardInterrupt` that ends the process (source `main`) as a crash.",
    )
    crash_dir: str = setting(
        "THREADCRASH_CRASH_DIR",
        "",
        str,
        "Directory of the `fatal` source's crash files (default: `threadcrash` under the "
        "temporary directory).",
    )
    rate_limit: float = setting(
        "THREADCRASH_RATE_LIMIT",
        1.0,
        float_between(0.0, 1e6),
        "Storm control: reports (spans, log records, structlog events) per second per "
        "fingerprint once the burst is spent; `0` turns it off. The counter is never limited.",
    )
    burst: int = setting(
        "THREADCRASH_BURST",
        10,
        int_between(1, 1_000_000),
        "Storm control: reports of one fingerprint let through at once before the rate applies.",
    )
    summary_interval: float = setting(
        "THREADCRASH_SUMMARY_INTERVAL",
        60.0,
        float_between(1.0, 86400.0),
        "Storm control: longest wait, in seconds, before suppressed crashes of a fingerprint "
        "are summed up in a summary event (told on that fingerprint's next crash).",
    )
    redact: tuple[re.Pattern[str], ...] = setting(
        "THREADCRASH_REDACT",
        (),
        parse_patterns,
        "Extra redaction patterns for messages and stack traces: one regular expression, or a "
        "JSON list of them; a group named `secret` (or else the first group) is replaced.",
        shown_default="none",
    )
    redact_defaults: bool = setting(
        "THREADCRASH_REDACT_DEFAULTS",
        True,
        parse_bool,
        "Redact secrets from every text that leaves threadcrash: key=value forms, vendor "
        "tokens, URL credentials, Authorization headers, high-entropy source-line literals "
        "(see Redaction).",
    )
    before_emit: BeforeEmit | None = setting(  # noqa: RUF009 (a row, not a call per instance)
        "THREADCRASH_BEFORE_EMIT",
        None,
        import_callable,
        "`module:function` called with each report's `CrashRecord` before any signal; it "
        "returns the record, an edited copy (`dataclasses.replace`) or None to drop it.",
        shown_default="none",
    )
    exception_signal: str = setting(
        "THREADCRASH_EXCEPTION_SIGNAL",
        "logs/dup",
        parse_exception_signal,
        "`logs/dup`: the exception goes in the log record and in the span's `exception` event; "
        "`logs`: in the log record only (the span keeps its status and tags).",
        otel_env="OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN",
    )
    disabled_instrumentations: tuple[str, ...] = setting(
        None,
        (),
        parse_list,
        "`threadcrash` (or `*`) in this list turns threadcrash off, as it does for "
        "`opentelemetry-instrument`.",
        otel_env="OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
        shown_default="empty",
    )
    service_name: str | None = setting(
        None,
        None,
        parse_text,
        "`service.name` of the resource, for the providers threadcrash builds.",
        otel_env="OTEL_SERVICE_NAME",
        shown_default="`unknown_service`",
    )
    resource_attributes: tuple[tuple[str, str], ...] = setting(
        None,
        (),
        parse_pairs,
        "More resource attributes, `key=value,key=value`, for the providers threadcrash builds.",
        otel_env="OTEL_RESOURCE_ATTRIBUTES",
        shown_default="empty",
    )
    exports: tuple[Export, ...] = field(default=DEFAULT_EXPORTS)

    def export(self, signal: str) -> Export:
        """The exporter and OTLP settings of ``signal`` (``traces``, ``metrics``, ``logs``)."""
        for group in self.exports:
            if group.signal == signal:
                return group
        raise KeyError(signal)

    def keywords(self) -> dict[str, Any]:
        """Every setting by its keyword: ``load(settings.keywords())`` gives these settings."""
        own = {option.name: getattr(self, option.name) for option in _OWN}
        return {**own, **keywords(self.exports)}


_OWN = rows(Settings)
OPTIONS: tuple[Option[Any], ...] = (*_OWN, *EXPORT_ROWS)
_BY_NAME: Mapping[str, Option[Any]] = {option.name: option for option in OPTIONS}


def _from_environment(option: Option[Any], environ: Mapping[str, str]) -> object:
    for variable in (option.env, option.otel_env):
        if variable is None:
            continue
        raw = environ.get(variable)
        if raw is None or raw.strip() == "":
            continue
        try:
            return option.parse(raw)
        except BadValue as error:
            warn_bad_value(variable, raw, str(error), default_text(option))
            return option.default
    return option.default


def load(kwargs: Mapping[str, object], environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every option; unknown keyword arguments are a programming error (TypeError)."""
    unknown = set(kwargs) - set(_BY_NAME)
    if unknown:
        raise TypeError(f"threadcrash: unknown option {sorted(unknown)[0]!r}")
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.name in kwargs:
            values[option.name] = _check_keyword(option, kwargs[option.name])
        else:
            values[option.name] = _from_environment(option, env)
    if {"threadcrash", "*"} & set(values["disabled_instrumentations"]):
        values["disabled"] = True
    own = {option.name: values[option.name] for option in _OWN}
    return Settings(**own, exports=exports(values))


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


def default_text(option: Option[Any]) -> object:
    """The default a warning names: the README's wording where the value says too little."""
    if option.shown_default is not None:
        return option.shown_default.replace("`", "")
    return option.default
