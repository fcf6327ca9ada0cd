"""Where a value ends: calls, brackets, braces, headers and cookies, and how far a scan reads.

Each test feeds the default rules a line a program could print and checks exactly what is
blanked out, or the spans :func:`threadcrash._secrets.find` returns.
"""

from __future__ import annotations

import re
import sys

import pytest

from threadcrash import _secrets
from threadcrash._redact import REDACTED, Redactor

R = REDACTED
GITHUB = "ghp_" + "a1B2" * 9


def redact(text: str) -> str:
    return Redactor([])(text)


def test_a_token_glued_to_an_upper_case_letter_is_not_cut_out_of_the_word() -> None:
    """A vendor token's prefix after a capital letter is part of a longer word, not a token."""
    _, pattern = _secrets._token("ghp_", "[A-Za-z0-9]{30,}")
    rule = re.compile(pattern)
    assert rule.search(f"ID{GITHUB}") is None
    assert rule.search(f"id {GITHUB}") is not None


# --- calls and brackets after a key --------------------------------------------------------


def test_a_secret_after_a_nested_bracket_in_a_call_is_redacted() -> None:
    """``[(`` opens two brackets at once: the call's next argument is still read."""
    text = 'TypeError: login(token=f([(1)], "hunter2"))'
    assert redact(text) == f'TypeError: login(token=f([(1)], "{R}"))'


def test_a_secret_after_a_call_that_closes_one_bracket_at_a_time_is_redacted() -> None:
    """``h(1) )`` closes two of three open brackets: the outer call's argument is still read."""
    text = 'token=f(g(h(1) ), "hunter2")'
    assert redact(text) == f'token=f(g(h(1) ), "{R}")'


def test_a_key_inside_a_call_before_its_last_literal_is_found() -> None:
    """``token=dict(..., token=abc123def, note="x")``: the inner bare value goes too."""
    text = 'token=dict(name="ci", token=abc123def, note="x")'
    assert redact(text) == f'token=dict(name="{R}", token={R}, note="{R}")'


def test_a_call_is_read_for_at_most_its_first_kilobyte() -> None:
    """A call's arguments are read for 1024 characters: a literal further on is not read."""
    padding = " " * _secrets._MAX_CONTAINER
    text = f'token=f("abc123", {padding}"later")'
    assert redact(text) == f'token=f("{R}", {padding}"later")'


def test_a_call_is_read_for_at_most_sixteen_tokens() -> None:
    """The bracket and the first fifteen literals of a call are read, the sixteenth is not."""
    literals = [f"v{number:02}" for number in range(_secrets._MAX_TOKENS)]
    text = "token=f(" + ", ".join(f'"{literal}"' for literal in literals) + ")"
    expected = "token=f(" + ", ".join(f'"{R}"' for _ in literals[:-1]) + f', "{literals[-1]}")'
    assert redact(text) == expected


def test_the_search_for_a_quote_in_a_call_stays_within_its_first_kilobyte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Many calls without a quote, then one far away: no call reads up to that quote."""
    windows: list[int] = []
    real = _secrets._QUOTE

    class Recorded:
        def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> object:
            windows.append(min(endpos, len(text)) - pos)
            return real.search(text, pos, endpos)

    monkeypatch.setattr(_secrets, "_QUOTE", Recorded())
    text = "token=f(x) " * 300 + "'"
    assert redact(text) == "token=[REDACTED] " * 300 + "'"
    assert len(windows) == 300
    assert max(windows) <= _secrets._MAX_CONTAINER


def test_a_scan_of_a_call_stops_at_its_line_end() -> None:
    """A call left open at the end of a line is read to that line end only."""
    text = 'token=f("abc123",\n"next line")'
    assert redact(text) == f'token=f("{R}",\n"next line")'


# --- braced values (ODBC) ------------------------------------------------------------------


def test_a_braced_password_holding_an_empty_pair_of_quotes_is_redacted_whole() -> None:
    """``Pwd={p@ss''word}``: the quotes inside are part of the password, which goes whole."""
    assert redact("Pwd={p@ss''word}; Uid=app") == f"Pwd={{{R}}}; Uid=app"


def test_a_one_character_braced_password_is_redacted_inside_its_braces() -> None:
    """``PWD={x}`` keeps its braces and loses the character between them."""
    assert redact("PWD={x}; UID=app") == f"PWD={{{R}}}; UID=app"


def test_an_empty_braced_password_is_blanked_with_its_braces() -> None:
    """``PWD={}`` has nothing inside: the braces themselves are blanked, the next pair stays."""
    assert redact("PWD={}; UID=app") == f"PWD={R}; UID=app"


def test_the_text_right_after_a_braced_password_is_kept() -> None:
    """A password that holds ``pwd=`` is one braced value: what follows its brace stays."""
    assert redact("PWD={pwd=abc}x; UID=app") == f"PWD={{{R}}}x; UID=app"


def test_a_braced_password_cut_by_a_line_end_is_redacted_to_the_line_end() -> None:
    """A brace left open at a line end: the rest of that line goes, the next line stays."""
    assert redact("PWD={abc\ndef}") == f"PWD={{{R}\ndef}}"


def test_a_braced_value_with_many_brackets_is_redacted_up_to_where_the_reading_stops() -> None:
    """Sixteen bracket tokens are read; the value is blanked up to the seventeenth."""
    value = "a(b)c(d)e(f)g(h)i(j)k(l)m(n)o(p)q(r)"
    assert redact(f"PWD={{{value}}}") == f"PWD={{{R})q(r)}}"


# --- Authorization headers -----------------------------------------------------------------


def test_the_text_after_a_double_quoted_authorization_header_is_kept() -> None:
    """In a dict of headers, only the credentials after the scheme go, not the next header."""
    text = '{"Authorization": "Bearer abc123", "Accept": "json"}'
    assert redact(text) == f'{{"Authorization": "Bearer {R}", "Accept": "json"}}'


def test_an_authorization_header_on_a_later_line_is_redacted_to_its_line_end() -> None:
    """The header's value runs to the end of its own line, whatever the first line's length."""
    text = "request failed\nAuthorization: Custom abcdefghijklmnopqrstuvwxyz\nretrying"
    assert redact(text) == f"request failed\nAuthorization: Custom {R}\nretrying"


def test_a_header_right_after_an_unclosed_quoted_header_is_redacted() -> None:
    """A quoted value cut by a line end does not hide the header that starts the next line."""
    text = 'Authorization: "Bearer abc\nAuthorization: Custom s3cr3t'
    assert redact(text) == f'Authorization: "Bearer {R}\nAuthorization: Custom {R}'


def test_a_quoted_credential_with_a_trailing_space_is_redacted() -> None:
    """``"s3cr3t-token-value "`` has no scheme: the word before the closing quote goes."""
    text = '{"Authorization": "s3cr3t-token-value "}'
    assert redact(text) == f'{{"Authorization": "{R}"}}'


# --- cookies -------------------------------------------------------------------------------


@pytest.mark.parametrize(("opening", "closing"), [("(", ")"), ("[", "]")])
def test_cookies_given_as_a_sequence_lose_their_literals_and_keep_the_line(
    opening: str, closing: str
) -> None:
    """``cookie=("sid", "abc123")`` in a call: the literals go, the rest of the line stays."""
    text = f'requests.get(url, cookie={opening}"sid", "abc123"{closing}) failed'
    expected = f'requests.get(url, cookie={opening}"{R}", "{R}"{closing}) failed'
    assert redact(text) == expected


# --- nothing is blanked where nothing is ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("Cookie: a=; b=2", [(14, 15)]),
        ('Cookie: ""', []),
        ('Authorization: ""', []),
    ],
)
def test_an_empty_header_or_cookie_value_gives_no_span(
    text: str, spans: list[_secrets.Span]
) -> None:
    """An empty value gives no span to blank out; the values around it still do."""
    assert sorted(_secrets.find(text)) == spans
