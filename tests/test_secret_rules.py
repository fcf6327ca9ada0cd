"""How the default rules are built from their tables, and the rules' odd corners.

The tables are compiled when ``threadcrash._secrets`` is imported; the tests that build a rule
call the builders again, so what they check is the builders' work, not a copy made earlier.
"""

from __future__ import annotations

import re

from threadcrash import _secrets

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
