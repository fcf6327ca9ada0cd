"""The one settings table: precedence, the standard OTEL_* variables, bad values, the README."""

from __future__ import annotations

import linecache
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest
from opentelemetry.trace import StatusCode

import threadcrash
from threadcrash import ConfigurationWarning, _parse, _settings
from threadcrash._errors import BadValue
from threadcrash._record import SOURCES

from .helpers import run_thread
from .otel import Otel
from .readme_settings import rewrite_readme

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_of_the_table_are_the_dataclass_defaults() -> None:
    """With nothing set, load() gives exactly Settings()."""
    assert _settings.load({}, {}) == _settings.Settings()


def test_every_variable_is_read_once() -> None:
    """No two rows read the same variable, and every variable has a recognised prefix."""
    variables = [
        name for option in _settings.OPTIONS for name in (option.env, option.otel_env) if name
    ]
    assert len(variables) == len(set(variables))
    assert all(name.startswith(("THREADCRASH_", "OTEL_")) for name in variables)


def test_readme_table_is_generated_from_the_settings_table() -> None:
    """The README's table of variables is exactly what OPTIONS renders (no drift)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert rewrite_readme(readme) == readme, (
        "README table out of date: run `python -m tests.readme_settings`"
    )


def test_keyword_beats_threadcrash_variable_beats_otel_variable() -> None:
    """Precedence: keyword argument > THREADCRASH_* > OTEL_* > default."""
    both = {
        "THREADCRASH_EXCEPTION_SIGNAL": "logs/dup",
        "OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN": "logs",
    }
    assert _settings.load({}, {}).exception_signal == "logs/dup"
    otel_only = {"OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN": "logs"}
    assert _settings.load({}, otel_only).exception_signal == "logs"
    assert _settings.load({}, both).exception_signal == "logs/dup"
    assert _settings.load({"exception_signal": "logs"}, both).exception_signal == "logs"


def test_otel_sdk_disabled_turns_threadcrash_off() -> None:
    """OTEL_SDK_DISABLED=true turns threadcrash off; THREADCRASH_DISABLED=false wins over it."""
    assert _settings.load({}, {"OTEL_SDK_DISABLED": "true"}).disabled is True
    env = {"OTEL_SDK_DISABLED": "true", "THREADCRASH_DISABLED": "false"}
    assert _settings.load({}, env).disabled is False


@pytest.mark.parametrize("listed", ["threadcrash", "requests, threadcrash", "*"])
def test_disabled_instrumentations_list_turns_it_off(
    listed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`threadcrash` or `*` in OTEL_PYTHON_DISABLED_INSTRUMENTATIONS: instrument() hooks nothing."""
    monkeypatch.setenv("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", listed)
    before = threading.excepthook
    threadcrash.instrument()
    assert threading.excepthook is before


def test_other_names_in_the_disabled_list_leave_it_on() -> None:
    """Other instrumentations in the list do not turn threadcrash off."""
    env = {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "threading,threadcrash-extra"}
    assert _settings.load({}, env).disabled is False


def test_any_name_in_the_disabled_list_is_accepted() -> None:
    """Names of any shape in the list never make it a bad value (threadcrash stays off)."""
    env = {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "my.plugin:v2, threadcrash"}
    settings = _settings.load({}, env)
    assert settings.disabled is True
    assert settings.disabled_instrumentations == ("my.plugin:v2", "threadcrash")


def test_exporter_and_otlp_variables_are_parsed() -> None:
    """The standard exporter variables, general and per signal, come out as typed values."""
    env = {
        "OTEL_SERVICE_NAME": "checkout",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,team=pay%20ments",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "otlp,console",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "https://logs.example/v1/logs",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cr%3Dt,x-tenant=a",
        "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "2.5",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP",
    }
    settings = _settings.load({}, env)
    assert settings.service_name == "checkout"
    assert settings.resource_attributes == (
        ("deployment.environment", "prod"),
        ("team", "pay ments"),
    )
    assert settings.export("traces").exporter == ()
    assert settings.export("metrics").exporter == ("otlp", "console")
    assert settings.export("logs").exporter is None
    assert settings.export("traces").general.endpoint == "http://collector:4318"
    assert settings.export("logs").otlp.endpoint == "https://logs.example/v1/logs"
    assert settings.export("traces").general.protocol == "http/protobuf"
    assert settings.export("traces").general.headers == (("api-key", "s3cr=t"), ("x-tenant", "a"))
    assert settings.export("metrics").otlp.timeout == 2.5
    assert settings.export("traces").general.timeout is None
    assert settings.export("traces").general.compression == "gzip"


def test_keywords_take_plain_python_values() -> None:
    """Headers as a dict and exporters as a list work as keyword arguments."""
    settings = _settings.load(
        {"otlp_headers": {"a": "1"}, "traces_exporter": ["console"], "logs_exporter": []}, {}
    )
    assert settings.export("traces").general.headers == (("a", "1"),)
    assert settings.export("traces").exporter == ("console",)
    assert settings.export("logs").exporter == ()


def test_a_bad_keyword_raises_at_the_call() -> None:
    """A wrong keyword value is the programmer's error: ValueError at instrument()."""
    with pytest.raises(ValueError, match="exception_signal"):
        _settings.load({"exception_signal": "spans"}, {})


@pytest.mark.parametrize(
    ("variable", "value", "field", "default"),
    [
        ("THREADCRASH_MAX_MESSAGE_LENGTH", "banana", "max_message_length", 4096),
        ("THREADCRASH_CHAIN", "ture", "chain", True),
        ("OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN", "spans", "exception_signal", "logs/dup"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "otlp_protocol", None),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "otlp_endpoint", None),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon", "otlp_timeout", None),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "otlp_compression", None),
        ("OTEL_EXPORTER_OTLP_HEADERS", "no-equals-sign", "otlp_headers", None),
        ("OTEL_RESOURCE_ATTRIBUTES", "=x", "resource_attributes", ()),
        ("OTEL_TRACES_EXPORTER", "otlp,none", "traces_exporter", None),
    ],
)
def test_a_bad_value_warns_once_naming_variable_and_value(
    variable: str, value: str, field: str, default: object
) -> None:
    """A bad value warns once (even loaded twice), naming variable and value; then the default."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = _settings.load({}, {variable: value})
        second = _settings.load({}, {variable: value})
    assert first.keywords()[field] == second.keywords()[field] == default
    ours = [item for item in caught if issubclass(item.category, ConfigurationWarning)]
    assert len(ours) == 1
    assert variable in str(ours[0].message)
    assert repr(value) in str(ours[0].message)


def test_warnings_as_errors_do_not_make_load_raise(capsys: pytest.CaptureFixture[str]) -> None:
    """Under -W error a bad value still gives the default and a line on stderr, never a raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings = _settings.load({}, {"THREADCRASH_CHAIN": "ture"})
    assert settings.chain is True
    assert "THREADCRASH_CHAIN='ture'" in capsys.readouterr().err


@pytest.mark.slow
def test_bad_values_give_exactly_one_line_each_on_stderr(tmp_path: Path) -> None:
    """In a real interpreter, instrument() with two bad variables prints one warning for each."""
    script = tmp_path / "app.py"
    script.write_text(
        "import threadcrash\nthreadcrash.instrument()\nthreadcrash.instrument()\nprint('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "THREADCRASH_MAX_MESSAGE_LENGTH": "banana",
            "THREADCRASH_CHAIN": "ture",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
    lines = [line for line in result.stderr.splitlines() if "ConfigurationWarning" in line]
    assert len(lines) == 2, result.stderr
    assert any("THREADCRASH_MAX_MESSAGE_LENGTH='banana'" in line for line in lines)
    assert any("THREADCRASH_CHAIN='ture'" in line for line in lines)


@pytest.mark.parametrize(
    ("value", "span_events"), [(None, ["exception"]), ("logs/dup", ["exception"]), ("logs", [])]
)
def test_exception_signal_opt_in_decides_the_span_event(
    value: str | None, span_events: list[str], otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN=logs: the exception is in the log record only."""
    if value is not None:
        monkeypatch.setenv("OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN", value)
    threadcrash.instrument(**otel.providers)

    def crash() -> None:
        raise ValueError("worker failed")

    run_thread(crash)
    (span,) = otel.spans()
    assert [event.name for event in span.events] == span_events
    assert span.status.status_code is StatusCode.ERROR
    (log,) = otel.logs()
    assert log.attributes["exception.message"] == "worker failed"
    assert log.attributes["exception.stacktrace"].endswith("ValueError: worker failed\n")
    assert log.span_id == span.context.span_id


def test_a_misspelled_keyword_is_a_type_error() -> None:
    """instrument(rate_limt=0) fails loudly, as any Python call with a wrong keyword does."""
    with pytest.raises(TypeError, match="rate_limt"):
        threadcrash.instrument(rate_limt=0)  # type: ignore[call-arg]
    assert threadcrash._lifecycle.current() is None


def test_an_option_the_settings_do_not_know_is_a_type_error() -> None:
    """A keyword with no row in the settings table is refused, not silently dropped."""
    with pytest.raises(TypeError, match="rate_limt"):
        _settings.load({"rate_limt": 0}, {})


def test_sources_all_means_every_known_source() -> None:
    """THREADCRASH_SOURCES=all turns on every source, the opt-in ones included."""
    settings = _settings.load({}, {"THREADCRASH_SOURCES": "all"})
    assert settings.sources == frozenset(SOURCES)
    assert settings.sources  # not an empty set that happens to equal an empty table
    assert _settings.load({"sources": "all"}, {}).sources == frozenset(SOURCES)


@pytest.mark.parametrize("value", ["none", "NONE", " gzip ", "deflate"])
def test_every_standard_compression_is_accepted(value: str) -> None:
    """OTEL_EXPORTER_OTLP_COMPRESSION takes gzip, deflate and none, in any case, with no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings = _settings.load({}, {"OTEL_EXPORTER_OTLP_COMPRESSION": value})
    assert settings.export("traces").general.compression == value.strip().lower()


def test_a_fractional_timeout_is_accepted() -> None:
    """OTEL_EXPORTER_OTLP_TIMEOUT=0.5 is half a second, not a bad value."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings = _settings.load({}, {"OTEL_EXPORTER_OTLP_TIMEOUT": "0.5"})
    assert settings.export("traces").general.timeout == 0.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("*", ("*",)),
        ("otlp, console", ("otlp", "console")),
        ("my_exporter-v2", ("my_exporter-v2",)),
    ],
)
def test_exporter_names_that_are_names_are_accepted(value: str, expected: tuple[str, ...]) -> None:
    """An exporter list takes entry-point names and the wildcard, without a warning."""
    assert _parse.parse_names(value) == expected


@pytest.mark.parametrize("value", ["c*nsole!", "otlp;console", "ot lp"])
def test_exporter_names_with_stray_characters_are_rejected(value: str) -> None:
    """A typo with punctuation in an exporter list is a bad value, not a name."""
    with pytest.raises(BadValue):
        _parse.parse_names(value)


def test_settings_given_back_as_keywords_load_the_same() -> None:
    """What a child process is instrumented with (every setting by keyword) loads back unchanged."""
    env = {
        "THREADCRASH_CHAIN": "false",
        "OTEL_METRICS_EXPORTER": "console",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "a=1",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2",
    }
    settings = _settings.load({}, env)
    assert settings != _settings.load({}, {})
    assert _settings.load(settings.keywords(), {}) == settings


def test_a_bad_value_warning_points_at_the_line_that_called_instrument(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A bad variable's warning and the fatal source's both name the program's instrument() line."""
    monkeypatch.setenv("THREADCRASH_RATE_LIMIT", "not-a-rate")
    with pytest.warns(ConfigurationWarning) as caught:
        threadcrash.instrument(sources="fatal", crash_dir=str(tmp_path / "bad\0dir"))
    threadcrash.uninstrument()
    assert len(caught) == 2
    for warning in caught:
        assert warning.filename == __file__
        assert "threadcrash.instrument(" in linecache.getline(__file__, warning.lineno)
