"""How the default rules are built from their tables, and the rules' odd corners.

The tables are compiled when ``threadcrash._secrets`` is imported; the tests that build a rule
call the builders again, so what they check is the builders' work, not a copy made earlier.
"""

from __future__ import annotations

import re

import pytest

from threadcrash import _secrets
from threadcrash._redact import REDACTED, Redactor

GITHUB = "ghp_" + "a1B2" * 9


def test_a_vendor_token_is_found_alone_and_not_glued_to_a_word() -> None:
    """A token is found after a space or a quote, never as the tail of a longer word."""
    prefix, pattern = _secrets._token("ghp_", "[A-Za-z0-9]{30,}")
    assert prefix == "ghp_"
    rule = re.compile(pattern)
    found = rule.search(f"token '{GITHUB}' refused")
    assert found is not None
    assert found.group() == GITHUB
    assert rule.search(f"x{GITHUB}") is None
    assert rule.search(f"9{GITHUB}") is None
    assert rule.search(f"-{GITHUB}") is not None  # only letters and digits glue by default


def test_a_token_prefix_with_a_dot_matches_only_a_dot() -> None:
    """``ya29.`` is a literal prefix: ``ya29x`` is not a Google token."""
    _, pattern = _secrets._token("ya29.", "[0-9A-Za-z_-]{20,}")
    rule = re.compile(pattern)
    assert rule.search("ya29." + "a" * 20) is not None
    assert rule.search("ya29x" + "a" * 20) is None


def test_a_token_glued_to_what_its_rule_names_is_not_taken() -> None:
    """A JSON Web Token inside a longer run of its own characters is not cut out of it."""
    _, pattern = _secrets._token("eyJ", r"[A-Za-z0-9_-]{8,}", "[A-Za-z0-9_-]")
    rule = re.compile(pattern)
    assert rule.search("-eyJabcdefgh") is None
    assert rule.search(" eyJabcdefgh") is not None


def test_a_key_rule_reads_lowercased_text_and_has_a_twin_for_any_case() -> None:
    """A key rule matches its key and separator in lowercased text; its twin ignores case."""
    (rule,) = _secrets._rules((("pass", "password", "value"),), _secrets._SEPARATOR)
    assert rule.trigger == "pass"
    assert rule.kind == "value"
    found = rule.pattern.match("password = x")
    assert found is not None
    assert found.end() == len("password = ")
    assert rule.pattern.match("PASSWORD = x") is None
    twin = rule.ignorecase.match("PASSWORD = x")
    assert twin is not None
    assert twin.end() == len("PASSWORD = ")


def test_a_rule_without_a_kind_takes_its_secret_from_its_group() -> None:
    """A form or a vendor token without a kind is read from its group named ``s``."""
    (rule,) = _secrets._rules((("://", "://u:(?P<s>[^@]+)@"),))
    assert (rule.trigger, rule.kind) == ("://", "s")
    found = rule.pattern.search("redis://u:hunter2@cache")
    assert found is not None
    assert found.group("s") == "hunter2"
    assert rule.ignorecase.search("REDIS://U:hunter2@cache") is not None


def test_the_entropy_of_a_text_in_bits_per_character() -> None:
    """Two characters alternating carry one bit each, four distinct ones two, one repeated none."""
    assert _secrets.entropy("ab") == 1.0
    assert _secrets.entropy("abcd") == 2.0
    assert _secrets.entropy("aaaa") == 0.0


@pytest.mark.parametrize(
    ("literal", "random"),
    [
        ("Zq8rT2vL9mK4pW7n", True),  # 16 characters: long enough
        ("Zq8rT2vL9mK4p", False),  # 13: too short to judge
        ("9f86d081884c7d659a2feaa0c55ad015", True),  # hex of a digest
        ("0123abcd" * 4, True),  # hex with exactly 3 bits per character
        ("ab12" * 8, False),  # hex, but a short pattern repeated
        ("QX7RT2VL9MK4PW8NZ3", False),  # upper case only: a constant's name
        ("zq8rt2vl9mk4pw7nyx3b", False),  # lower case only
        ("ZqrTvLmKpWnYxBcDfG", False),  # no digit
        ("AbC1AbC1dEfG23hJ", True),  # exactly 3.5 bits per character
    ],
)
def test_a_literal_looks_random_only_when_long_mixed_and_varied(literal: str, random: bool) -> None:
    """Long literals of mixed case, digits and varied characters look generated; others do not."""
    assert _secrets.looks_random(literal) is random


def test_an_authorization_value_in_a_bytes_literal_keeps_its_scheme() -> None:
    """``b'Basic ...'`` after an Authorization key loses the credentials, not the scheme."""
    text = "{'Authorization': b'Basic dXNlcjpwYXNz'}"
    assert Redactor([])(text) == f"{{'Authorization': b'Basic {REDACTED}'}}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('cookie: {"sid": "x1"} tail', 'cookie: {"[R]": "[R]"} tail'),
        ("Cookie: b'a=1; b=2'", "Cookie: b'a=[R]; b=[R]'"),
        ("Cookie: abcdef", "Cookie: [R]"),
        ("Cookie: a=; b=2", "Cookie: a=; b=[R]"),
        ('token=f(("x1", "x2"), "x3") + "after"', 'token=f(("[R]", "[R]"), "[R]") + "after"'),
        ('password=[["x1"]] "after"', 'password=[["[R]"]] "after"'),
        ('password=f("x1"\n"after")', 'password=f("[R]"\n"after")'),
        ("PWD={abc", "PWD={[R]"),
    ],
)
def test_cookies_and_brackets_lose_their_literals_and_nothing_after(
    text: str, expected: str
) -> None:
    """Cookies one by one or whole, and the literals inside brackets, up to their close only."""
    assert Redactor([])(text) == expected.replace("[R]", REDACTED)
