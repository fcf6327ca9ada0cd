"""Every parser of the settings table: what it accepts, and the reason a warning gives."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest

from threadcrash import _parse
from threadcrash._errors import BadValue


def between_1_and_10(text: str) -> int:
    # the factory is called here, when the test runs, not when the module is imported
    return _parse.int_between(1, 10)(text)


def between_half_and_2(text: str) -> float:
    return _parse.float_between(0.5, 2.0)(text)


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        *[(_parse.parse_bool, text, True) for text in ("1", "true", "YES", " on ")],
        *[(_parse.parse_bool, text, False) for text in ("0", "False", "no", "OFF")],
        (_parse.parse_tristate, " AUTO ", None),
        (_parse.parse_tristate, "yes", True),
        (between_1_and_10, "1", 1),
        (between_1_and_10, " 10 ", 10),
        (between_half_and_2, "0.5", 0.5),
        (between_half_and_2, "2", 2.0),
        (_parse.parse_endpoint, " https://collector:4318/v1 ", "https://collector:4318/v1"),
        (_parse.parse_endpoint, "http://c/v1?next=https://x", "http://c/v1?next=https://x"),
        (_parse.parse_pairs, "a=1,,b=x%3Dy", (("a", "1"), ("b", "x=y"))),
        (_parse.parse_pairs, "token=a=b", (("token", "a=b"),)),
        (_parse.parse_names, "my-org/exporter_2", ("my-org/exporter_2",)),
        (_parse.import_callable, "collections:OrderedDict.fromkeys", dict.fromkeys),
    ],
)
def test_each_accepted_spelling_gives_its_value(
    parse: Callable[[str], Any], text: str, expected: object
) -> None:
    """Every spelling the README promises is read as that value."""
    value = parse(text)
    if callable(expected):
        assert callable(value)
        assert value.__qualname__ == "OrderedDict.fromkeys"
    else:
        assert value == expected


@pytest.mark.parametrize(
    ("parse", "text", "reason"),
    [
        (_parse.parse_bool, "maybe", "expected true or false"),
        (_parse.parse_tristate, "sometimes", "expected auto, true or false"),
        (between_1_and_10, "ten", "expected a whole number from 1 to 10"),
        (between_1_and_10, "0", "expected a whole number from 1 to 10"),
        (between_1_and_10, "11", "expected a whole number from 1 to 10"),
        (between_half_and_2, "fast", "expected a number from 0.5 to 2"),
        (between_half_and_2, "0.25", "expected a number from 0.5 to 2"),
        (between_half_and_2, "nan", "expected a number from 0.5 to 2"),
        (_parse.parse_sources, "thread,threads", "unknown source 'threads'; known: thread, "),
        (_parse.parse_names, "c*nsole!", "'c*nsole!' is not a name"),
        (_parse.parse_names, "none,otlp", "none cannot be combined with other names"),
        (_parse.parse_protocol, "http/json", "http/json has no Python exporter"),
        (_parse.parse_protocol, "udp", "expected grpc or http/protobuf"),
        (_parse.parse_endpoint, "collector:4318", "expected a URL starting with http://"),
        (_parse.parse_endpoint, "http://", "expected a URL starting with http://"),
        (_parse.parse_endpoint, "http://a b", "expected a URL starting with http://"),
        (_parse.parse_endpoint, "ftp://x://y", "expected a URL starting with http://"),
        (_parse.parse_pairs, "a=1,b", "expected key=value pairs separated by commas, got 'b'"),
        (_parse.parse_compression, "brotli", "expected gzip, deflate or none"),
        (_parse.parse_text, " ", "expected some text"),
        (_parse.parse_exception_signal, "spans", "expected logs or logs/dup"),
        (_parse.parse_patterns, "(unclosed", "not a regular expression (missing )"),
        (_parse.parse_patterns, "[1]", "not a regular expression (a redaction pattern must"),
        (_parse.import_callable, "json", "expected module:function"),
        (_parse.import_callable, ":dumps", "expected module:function"),
        (_parse.import_callable, "json:", "expected module:function"),
        (_parse.import_callable, "json:nope", "cannot import it (AttributeError: "),
        (_parse.import_callable, "json:dumps:x", "cannot import it (AttributeError: "),
        (_parse.import_callable, "json:__doc__", "it is not callable"),
    ],
)
def test_each_bad_value_is_refused_with_its_reason(
    parse: Callable[[str], Any], text: str, reason: str
) -> None:
    """A bad value is refused, and the reason (which the warning quotes) says what was expected."""
    with pytest.raises(BadValue, match="^" + re.escape(reason)):
        parse(text)


def test_a_redaction_pattern_that_is_not_text_is_a_type_error() -> None:
    """redact=[42] as a keyword is a programming error that names the bad item."""
    with pytest.raises(TypeError, match=r"must be a str or re\.Pattern, not 42"):
        _parse.compile_patterns([42])


def test_a_settings_row_keeps_all_it_was_given_under_its_fields_name() -> None:
    """A table declared with setting() gives rows named after their fields, with every column."""

    @dataclasses.dataclass(frozen=True)
    class Table:
        plain: int = 3
        speed: float = _parse.setting(
            "X_SPEED", 1.5, float, "how fast", otel_env="OTEL_X_SPEED", shown_default="quick"
        )

    (row,) = _parse.rows(Table)
    assert row == _parse.Option("speed", "X_SPEED", 1.5, float, "how fast", "OTEL_X_SPEED", "quick")
    assert Table().speed == 1.5
