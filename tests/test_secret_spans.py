"""Where a value ends: calls, brackets, braces, headers and cookies, and how far a scan reads.

Each test feeds the default rules a line a program could print and checks exactly what is
blanked out, or the spans :func:`threadcrash._secrets.find` returns.
"""

from __future__ import annotations

import re
import sys

import pytest

from tests.test_secrets import redact
from threadcrash import _secrets
from threadcrash._redact import REDACTED

R = REDACTED
GITHUB = "ghp_" + "a1B2" * 9


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


def test_a_key_right_after_the_bracket_of_a_call_is_found() -> None:
    """``Config(token=abc123, ...)`` under ``token=``: the inner key is read from the bracket on."""
    text = 'TypeError: Client(token=Config(token=abc123, scope="read"))'
    assert redact(text) == f'TypeError: Client(token=Config(token={R}, scope="{R}"))'


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


def test_a_password_in_escaped_single_quotes_is_redacted_whole() -> None:
    r"""``password=\'hunter 2\'`` inside a quoted string: the space does not end the secret."""
    text = "ValueError: 'user=app password=\\'hunter 2\\' host=db'"
    assert redact(text) == f"ValueError: 'user=app password=\\'{R}\\' host=db'"


def test_a_key_on_the_line_after_an_unclosed_quote_is_found() -> None:
    """A quoted value cut by a line end does not hide the key that starts the next line."""
    text = "settings: password='hunter2\npassword=s3cret"
    assert redact(text) == f"settings: password='{R}\npassword={R}"


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
        ("password='' host=db", []),
        ("password=\\'\\' host=db", []),
        ("password=, user=bob", []),
    ],
)
def test_an_empty_value_gives_no_span(text: str, spans: list[_secrets.Span]) -> None:
    """An empty value, bare, quoted or in escaped quotes, gives no span; the ones around it do."""
    assert sorted(_secrets.find(text)) == spans


# --- which rules run ------------------------------------------------------------------------


def test_an_upper_case_scheme_is_redacted_in_a_text_whose_lowercase_is_longer() -> None:
    """With an ``İ`` in the message, ``Bearer`` and ``Basic`` are found whatever their case."""
    text = "İstanbul gateway refused Bearer abc123def456 and Basic dXNlcjpwYXNz"
    assert redact(text) == f"İstanbul gateway refused Bearer {R} and Basic {R}"


def test_the_file_paths_of_a_stack_trace_do_not_open_the_vendor_token_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Long paths are in every trace: the token gate sees the trace without its File lines."""
    seen: list[str] = []
    real = _secrets._TOKEN_GATE

    class Recorded:
        def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> object:
            seen.append(text[pos:endpos])
            return real.search(text, pos, endpos)

    monkeypatch.setattr(_secrets, "_TOKEN_GATE", Recorded())
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/payments/settlement_worker.py", line 88, in run_settlement\n'
        "    settle(batch)\n"
        "ValueError: batch 12 refused\n"
    )
    assert _secrets.find(trace) == []
    assert seen == [
        "Traceback (most recent call last):\n  \n    settle(batch)\nValueError: batch 12 refused\n"
    ]


def test_a_webhook_url_keeps_its_host_and_loses_its_path() -> None:
    """Only the part after the host is the secret: the reader still sees which service it was."""
    text = "POST https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/a1B2c3D4e5F6g7H8 failed: 404"
    assert redact(text) == f"POST https://hooks.slack.com/services/{R} failed: 404"


# --- source lines of a stack trace ---------------------------------------------------------


def test_a_credential_in_single_quotes_on_a_source_line_is_redacted() -> None:
    """``client.login('deploy', 'hunter2')`` in a frame loses its literals, as in double quotes."""
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/app/deploy.py", line 3, in main\n'
        "    client.login('deploy', 'hunter2')\n"
        "PermissionError: refused\n"
    )
    assert redact(trace) == trace.replace("'deploy', 'hunter2'", f"'{R}', '{R}'")


def test_every_frame_is_read_after_a_source_line_without_a_literal() -> None:
    """A frame whose source line has no string does not end the search of the next frames."""
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/app/deploy.py", line 9, in main\n'
        "    run(client)\n"
        '  File "/app/deploy.py", line 3, in run\n'
        '    client.login("deploy", "hunter2")\n'
        "PermissionError: refused\n"
    )
    found = [trace[start:end] for start, end in sorted(_secrets.find(trace))]
    assert found == ["deploy", "hunter2"]


def test_the_literals_before_a_credential_call_on_its_line_are_kept() -> None:
    """Only what is passed to ``auth_headers(...)`` goes; the header names before it stay."""
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/app/api.py", line 7, in call\n'
        '    headers = {"Accept": "json", **auth_headers("hunter2")}\n'
        "KeyError: 'x'\n"
    )
    assert redact(trace) == trace.replace('"hunter2"', f'"{R}"')


def test_a_source_line_is_read_to_its_own_end_only() -> None:
    """The literal in the message under a frame is not taken for one of its source line's."""
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/app/settings.py", line 12, in load\n'
        '    with open(path, "rb") as file:\n'
        "FileNotFoundError: [Errno 2] No such file or directory: 'settings.toml'\n"
    )
    assert _secrets.find(trace) == []
