"""Secrets stay out of every signal: redaction, ``before_emit``, and no local variable values."""

from __future__ import annotations

import dataclasses
import re
import warnings
from typing import Any

import hypothesis
import hypothesis.strategies as st
import pytest

import threadcrash
from tests.conftest import InternalErrors
from tests.helpers import run_thread
from tests.otel import Otel
from threadcrash import CrashRecord, _secrets
from threadcrash._errors import BadValue
from threadcrash._parse import parse_patterns
from threadcrash._redact import REDACTED, Redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login failed: password=hunter2", "login failed: password=[REDACTED]"),
        ("PASSWORD = 'hunter2' rejected", "PASSWORD = '[REDACTED]' rejected"),
        ("{'user': 'bob', 'passwd': 'hunter2'}", "{'user': 'bob', 'passwd': '[REDACTED]'}"),
        ('{"api_key": "sk-123456"}', '{"api_key": "[REDACTED]"}'),
        ("AWS_SECRET_ACCESS_KEY=AKIA0000", "AWS_SECRET_ACCESS_KEY=[REDACTED]"),
        ("client_secret: abc;host=db", "client_secret: [REDACTED];host=db"),
        ("client_secret: ab;cd&ef,gh", f"client_secret: {REDACTED}"),
        ("GET /cb?access_token=xyz&page=2", "GET /cb?access_token=[REDACTED]&page=2"),
        ("Authorization: Bearer eyJhbGci.eyJzdWIi.sig", "Authorization: Bearer [REDACTED]"),
        ("authorization: basic dXNlcjpwYXNz", "authorization: basic [REDACTED]"),
        (
            "could not connect to postgres://app:s3cr3t@db:5432/orders",
            "could not connect to postgres://app:[REDACTED]@db:5432/orders",
        ),
        ("https://user:pa:ss@example.com/x", "https://user:[REDACTED]@example.com/x"),
        ("Pässword=geheim and İstanbul", None),
        ("password=geheim İstanbul", "password=[REDACTED] İstanbul"),
        ("KeyError: 'tokens'", None),
        ("see https://example.com/a:b@c nothing here", None),
        ("ValueError: invalid literal for int() with base 10: 'x'", None),
    ],
)
def test_the_default_patterns(text: str, expected: str | None) -> None:
    """Passwords, secrets, tokens, API keys, bearer/basic credentials and URL passwords go."""
    assert Redactor([])(text) == (text if expected is None else expected)


def test_the_defaults_can_be_turned_off() -> None:
    """``redact_defaults=False`` leaves the text alone unless the user gave patterns."""
    assert Redactor([], defaults=False)("password=hunter2") == "password=hunter2"


def test_a_pattern_replaces_its_secret_group_or_else_the_whole_match() -> None:
    """A named group ``secret``, else the first group, else the whole match is replaced."""
    patterns = parse_patterns(r'["card (?P<secret>\\d{4}) ok", "pin (\\d+)", "SSN-\\d+"]')
    redact = Redactor(patterns, defaults=False)
    assert redact("card 4242 ok, pin 1234, SSN-987") == (
        f"card {REDACTED} ok, pin {REDACTED}, {REDACTED}"
    )


def test_one_pattern_needs_no_json() -> None:
    """A value that is not a JSON list is one regular expression (``[`` may start it)."""
    [pattern] = parse_patterns("[A-Z]{3}-\\d+")
    assert pattern.pattern == "[A-Z]{3}-\\d+"


@pytest.mark.parametrize("text", ["(unclosed", '["ok", "(bad"]', "[unclosed", "[1, 2]"])
def test_a_bad_pattern_list_is_a_bad_value(text: str) -> None:
    """Broken regular expressions and JSON of the wrong shape are rejected with a reason."""
    with pytest.raises(BadValue):
        parse_patterns(text)


def secret_crash() -> None:
    raise ConnectionError("cannot reach postgres://app:s3cr3t-pw@db/orders with password=hunter2")


def chained_secret_crash() -> None:
    try:
        raise PermissionError("Authorization: Bearer tok-abcdef-123456 refused")
    except PermissionError as inner:
        raise RuntimeError("upload failed, api_key=AK-998877") from inner


def everything_emitted(otel: Otel, structlog_events: list[dict[str, Any]]) -> str:
    """Every text of every signal, joined."""
    parts: list[str] = []
    for span in otel.spans():
        parts.append(repr(dict(span.attributes or {})))
        parts.append(repr(span.status.description))
        parts.extend(repr(dict(event.attributes or {})) for event in span.events)
    for log in otel.logs():
        parts.append(repr(log.body))
        parts.append(repr(dict(log.attributes or {})))
    parts.extend(repr(event) for event in structlog_events)
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("target", "secrets"),
    [
        (secret_crash, ["s3cr3t-pw", "hunter2"]),
        (chained_secret_crash, ["tok-abcdef-123456", "AK-998877"]),
    ],
)
def test_no_signal_carries_the_secret(
    otel: Otel, captured_structlog: list[dict[str, Any]], target: Any, secrets: list[str]
) -> None:
    """Message, stack trace, span status, log body and structlog event are all redacted."""
    threadcrash.instrument(**otel.providers)
    run_thread(target)
    emitted = everything_emitted(otel, captured_structlog)
    assert otel.total() == 1
    assert len(otel.spans()) == 1
    assert REDACTED in emitted
    for secret in secrets:
        assert secret not in emitted


def test_user_patterns_come_from_the_environment(
    otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``THREADCRASH_REDACT`` adds patterns; the defaults stay on."""
    monkeypatch.setenv("THREADCRASH_REDACT", r'["order (?P<secret>\\d+)"]')
    threadcrash.instrument(**otel.providers)

    def crash() -> None:
        raise ValueError("order 123456 failed, password=hunter2")

    run_thread(crash)
    [log] = otel.logs()
    assert log.body == f"order {REDACTED} failed, password={REDACTED}"


def test_redact_defaults_false_keeps_the_text(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    """``THREADCRASH_REDACT_DEFAULTS=false`` turns the default patterns off."""
    monkeypatch.setenv("THREADCRASH_REDACT_DEFAULTS", "false")
    threadcrash.instrument(**otel.providers)
    run_thread(secret_crash)
    [log] = otel.logs()
    assert "password=hunter2" in str(log.body)


def test_a_bad_redact_value_warns_once(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    """One warning naming ``THREADCRASH_REDACT`` and the value; the defaults still apply."""
    monkeypatch.setenv("THREADCRASH_REDACT", "(unclosed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threadcrash.instrument(**otel.providers)
        threadcrash.uninstrument()
        threadcrash.instrument(**otel.providers)
    [warning] = caught
    assert "THREADCRASH_REDACT='(unclosed'" in str(warning.message)
    assert "default (none)" in str(warning.message)
    run_thread(secret_crash)
    [log] = otel.logs()
    assert "hunter2" not in str(log.body)


def test_redact_keyword_takes_strings_and_compiled_patterns(otel: Otel) -> None:
    """``redact=[...]`` accepts pattern strings and ``re.Pattern`` objects."""
    threadcrash.instrument(redact=["order (\\d+)", re.compile("(?i)ACME-\\w+")], **otel.providers)

    def crash() -> None:
        raise ValueError("order 42 for acme-corp")

    run_thread(crash)
    [log] = otel.logs()
    assert log.body == f"order {REDACTED} for {REDACTED}"


# --- no local variable values -----------------------------------------------------------------


def test_no_local_variable_value_is_ever_captured(
    otel: Otel, captured_structlog: list[dict[str, Any]]
) -> None:
    """A local's value computed at run time appears in no signal: frames give code, not values."""
    marker = "LOCAL" + "-" + str(6007 * 7)  # the value never appears in the source text

    def crash() -> None:
        secret_value = marker
        nested = {"key": secret_value, "n": 12345678901}
        raise ValueError(f"failed with {len(nested)} items")

    threadcrash.instrument(structlog=True, **otel.providers)
    run_thread(crash)
    emitted = everything_emitted(otel, captured_structlog)
    assert "failed with 2 items" in emitted
    assert marker not in emitted
    assert "12345678901" not in emitted


# --- before_emit ---------------------------------------------------------------------------------


def crash() -> None:
    raise ValueError("worker failed, password=hunter2")


def drop_all(record: CrashRecord) -> CrashRecord | None:
    """An importable ``before_emit`` for the environment tests: drops every report."""
    return None


def tag_message(record: CrashRecord) -> CrashRecord:
    """An importable ``before_emit`` that edits the message."""
    return dataclasses.replace(record, exception_message="[edited] " + record.exception_message)


def test_before_emit_sees_the_redacted_record_and_may_edit_it(
    otel: Otel, captured_structlog: list[dict[str, Any]]
) -> None:
    """The callback gets the redacted record; its ``dataclasses.replace`` copy is what goes out."""
    seen: list[CrashRecord] = []

    def before_emit(record: CrashRecord) -> CrashRecord:
        seen.append(record)
        return dataclasses.replace(
            record,
            exception_message="rewritten",
            extra={**record.extra, "deployment.team": "payments"},
        )

    threadcrash.instrument(before_emit=before_emit, **otel.providers)
    run_thread(crash)
    [record] = seen
    assert record.exception_message == f"worker failed, password={REDACTED}"
    [log] = otel.logs()
    assert log.body == "rewritten"
    assert log.attributes["deployment.team"] == "payments"
    [span] = otel.spans()
    assert span.events[0].attributes is not None
    assert span.events[0].attributes["exception.message"] == "rewritten"
    [event] = captured_structlog
    assert event["exception.message"] == "rewritten"
    assert otel.total() == 1


def test_before_emit_returning_none_drops_the_report_but_not_the_count(
    otel: Otel, captured_structlog: list[dict[str, Any]]
) -> None:
    """A dropped report: no span, log or structlog event; counted, and counted as suppressed."""
    threadcrash.instrument(before_emit=drop_all, **otel.providers)
    run_thread(crash)
    run_thread(crash)
    assert otel.spans() == []
    assert otel.logs() == []
    assert captured_structlog == []
    assert otel.total() == 2
    assert otel.counts("threadcrash.suppressed") == {
        frozenset(
            {
                ("error.type", "ValueError"),
                ("threadcrash.source", "thread"),
                ("threadcrash.reason", "before_emit"),
            }
        ): 2
    }


def test_the_counter_is_not_changed_by_before_emit(otel: Otel) -> None:
    """``before_emit`` edits the report, never what the counter counts."""

    def rename(record: CrashRecord) -> CrashRecord:
        return dataclasses.replace(record, exception_type="Renamed", source="elsewhere")

    threadcrash.instrument(before_emit=rename, **otel.providers)
    run_thread(crash)
    [key] = otel.counts()
    assert ("error.type", "ValueError") in key
    assert ("threadcrash.source", "thread") in key
    [log] = otel.logs()
    assert log.attributes["exception.type"] == "Renamed"


@pytest.mark.parametrize(
    "callback",
    [
        pytest.param(lambda record: 1 / 0, id="raises"),
        pytest.param(lambda record: "not a record", id="returns-a-str"),
        pytest.param(
            lambda record: dataclasses.replace(record, exception_message=None),
            id="returns-a-broken-record",
        ),
    ],
)
def test_a_failing_before_emit_lets_the_unedited_report_out_and_is_logged_once(
    otel: Otel, internal_errors: InternalErrors, callback: Any
) -> None:
    """Three crashes, a broken callback: three redacted reports, one internal error."""
    threadcrash.instrument(before_emit=callback, chain=False, **otel.providers)
    for _ in range(3):
        run_thread(crash)
    logs = otel.logs()
    assert [log.body for log in logs] == [f"worker failed, password={REDACTED}"] * 3
    assert len(otel.spans()) == 3
    assert otel.total() == 3
    assert [where for where, _ in internal_errors.seen] == ["before_emit"]


def test_before_emit_cannot_break_the_length_limits(otel: Otel) -> None:
    """An edited record longer than the limits is cut back to them."""

    def inflate(record: CrashRecord) -> CrashRecord:
        return dataclasses.replace(
            record, exception_message="x" * 100_000, exception_stacktrace="y\n" * 100_000
        )

    threadcrash.instrument(before_emit=inflate, max_message_length=100, **otel.providers)
    run_thread(crash)
    [log] = otel.logs()
    assert len(str(log.body)) == 100
    assert len(str(log.attributes["exception.stacktrace"])) <= 32768


def test_before_emit_from_the_environment(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    """``THREADCRASH_BEFORE_EMIT=module:function`` is imported at ``instrument()``."""
    monkeypatch.setenv("THREADCRASH_BEFORE_EMIT", "tests.test_redact:tag_message")
    threadcrash.instrument(**otel.providers)
    run_thread(crash)
    [log] = otel.logs()
    assert str(log.body).startswith("[edited] worker failed")


@pytest.mark.parametrize(
    "value",
    [
        "tests.test_redact",
        "tests.no_such_module:drop_all",
        "tests.test_redact:no_such_function",
        "tests.test_redact:REDACTED",
    ],
)
def test_a_bad_before_emit_path_warns_once_then_never_again(
    otel: Otel, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """One warning naming variable and value; reports go out as if no callback was set."""
    monkeypatch.setenv("THREADCRASH_BEFORE_EMIT", value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threadcrash.instrument(**otel.providers)
        run_thread(crash)
        threadcrash.uninstrument()
        threadcrash.instrument(**otel.providers)
        run_thread(crash)
    [warning] = caught
    assert f"THREADCRASH_BEFORE_EMIT={value!r}" in str(warning.message)
    assert len(otel.logs()) == 2


def test_a_before_emit_keyword_that_is_not_callable_is_refused() -> None:
    """A programming error at ``instrument()``, not a silent no-op at crash time."""
    with pytest.raises(TypeError, match="before_emit"):
        threadcrash.instrument(before_emit=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before_emit"):
        threadcrash.instrument(before_emit="no_such_module:function")


_PIECES = (
    "password",
    "PassPhrase",
    "pwd",
    "secret",
    "Token",
    "api_key",
    "API-KEY",
    "access_key",
    "auth-key",
    "private_key",
    "credential",
    "session_id",
    "Cookie",
    "Bearer ",
    "basic ",
    "https://",
    "user:",
    "@host",
    "=",
    ": ",
    "'",
    "hunter2abcdef",
    " ",
    "\n",
)


@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_the_quick_trigger_check_never_skips_a_secret(text: str) -> None:
    """A rule is skipped only when its trigger is absent, and then it could not have matched."""
    lowered = text.lower()
    for rule in (*_secrets._KEY_RULES, *_secrets._FORM_RULES):
        if rule.pattern.search(lowered):
            assert rule.trigger in lowered
    for rule in _secrets._TOKEN_RULES:
        if rule.pattern.search(text):
            assert rule.trigger in text
            assert _secrets._TOKEN_GATE.search(text) or "-----BEGIN" in text
