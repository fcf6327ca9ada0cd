"""The default redaction rules, one shape at a time, and their cost on hostile text."""

from __future__ import annotations

import re
import string

import hypothesis
import hypothesis.strategies as st
import pytest

import threadcrash
from tests.helpers import run_thread
from tests.otel import Otel
from threadcrash import _redact, _secrets
from threadcrash._redact import REDACTED, Redactor
from threadcrash._sources._asyncio import without_arguments

R = REDACTED
# Background threads left by other tests (exporters retrying with jitter) use the global
# ``random`` while an example is drawn; hypothesis takes that for our strategies' doing.
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")


def redact(text: str) -> str:
    return Redactor([])(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a quoted value runs to its matching unescaped quote, whatever is inside
        ("'password': b'FMQI9x'", f"'password': b'{R}'"),
        ("password='a b,c;d&e' next", f"password='{R}' next"),
        ('{"password": "a\\"b c"} x', f'{{"password": "{R}"}} x'),
        ('"{\\"password\\": \\"hunter 2\\"}"', f'"{{\\"password\\": \\"{R}\\"}}"'),
        # type annotations, subscripts, calls
        ("password: str = 'hunter2'", f"password: str = '{R}'"),
        ("token: Optional[str] = 'abc123'", f"token: Optional[str] = '{R}'"),
        ('cfg["password"] = "hunter2"', f'cfg["password"] = "{R}"'),
        ('PASSWORD = base64.b64decode("aGk=")', f'PASSWORD = base64.b64decode("{R}")'),
        ('os.environ.get("DB_PASSWORD", "hunter2")', f'os.environ.get("DB_PASSWORD", "{R}")'),
        ("auth=('bob', 'hunter2')", f"auth=('{R}', '{R}')"),
        ("PWD={ab;cd}", f"PWD={{{R}}}"),
        # the key-name families
        ("DB_PASS=x1 REDIS_PASS=x2 pw=x3", f"DB_PASS={R} REDIS_PASS={R} pw={R}"),
        ("STRIPE_KEY=x1 key=x2 sig=x3", f"STRIPE_KEY={R} key={R} sig={R}"),
        ("X-Amz-Signature=x1&AccountKey=x2", f"X-Amz-Signature={R}&AccountKey={R}"),
        ("client-key-data: x1", f"client-key-data: {R}"),
        ("privateKey: x1, credentials=x2", f"privateKey: {R}, credentials={R}"),
        # cookies one by one
        ("Cookie: a=1; b=2; c=3", f"Cookie: a={R}; b={R}; c={R}"),
        # Authorization schemes
        ("Authorization: token ghx", f"Authorization: token {R}"),
        ("Authorization: ApiKey abc", f"Authorization: ApiKey {R}"),
        ("authorization: basic dXNlcjpwYXNz", f"authorization: basic {R}"),
        # no '=' or ':' to match on
        ("ALTER USER app PASSWORD 'x1'", f"ALTER USER app PASSWORD '{R}'"),
        ("IDENTIFIED BY 'x1'", f"IDENTIFIED BY '{R}'"),
        ('missing "=" after "x1" in connection', f'missing "=" after "{R}" in connection'),
        ("mysql -u root -px1y2", f"mysql -u root -p{R}"),
        ("curl -u deploy:x1 h", f"curl -u deploy:{R} h"),
        ("gh --token x1", f"gh --token {R}"),
        ("('x-api-key', 'x1')", f"('x-api-key', '{R}')"),
        # URL credentials
        ("postgres://app:p@FK/1@db/x", f"postgres://app:{R}@db/x"),
        ("redis://:x1@cache", f"redis://:{R}@cache"),
        ("mysql://a%40b:c%40d@db", f"mysql://a%40b:{R}@db"),
        ("postgres://app%3Ax1@db", f"postgres://{R}@db"),
        # PEM blocks whole
        (
            "key -----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY----- end",
            f"key {R} end",
        ),
        # text that must stay as it is
        ("KeyError: 'password'", None),
        ("KeyError: 'tokens'", None),
        ("max_tokens_per_minute exceeded", None),
        ("see https://example.com/a:b@c nothing here", None),
        ("ValueError: invalid literal for int() with base 10: 'x'", None),
        ("design=monkey; signal=1", None),
    ],
)
def test_each_shape_is_redacted_whole(text: str, expected: str | None) -> None:
    """Every shape the README lists loses its whole secret, and ordinary text stays."""
    assert redact(text) == (text if expected is None else expected)


def test_a_second_secret_after_an_overlapping_match_is_redacted() -> None:
    """Two rules matching one secret do not hide the next secret from either."""
    text = "token=ghp_" + "a1" * 20 + " then password=hunter2"
    assert redact(text) == f"token={R} then password={R}"


def test_an_overlapping_secret_running_past_the_first_is_redacted_whole() -> None:
    """Where one rule's secret ends inside another's, the union of both goes."""
    secret = "sk_live_" + "Ab1" * 10
    text = f"Authorization: Bearer {secret} trailing"
    out = redact(text)
    assert secret[:6] not in out
    assert "Ab1Ab1" not in out


def test_a_character_whose_lowercase_is_longer_does_not_shift_positions() -> None:
    """``İ`` lowercases to two characters: the redaction still lands on the secret."""
    assert redact("İİİ password=hunter2 İ") == f"İİİ password={R} İ"
    assert redact("İ cookie: a=1; b=2") == f"İ cookie: a={R}; b={R}"
    assert redact("İ postgres://u:pw@db") == f"İ postgres://u:{R}@db"


def test_a_user_pattern_whose_secret_starts_at_offset_zero_is_redacted() -> None:
    """A user's secret group at the very start of the text is replaced too."""
    redactor = Redactor([re.compile(r"(?P<secret>ACME-\d+)")], defaults=False)
    assert redactor("ACME-42 failed") == f"{R} failed"


def test_an_asyncio_callback_loses_its_arguments() -> None:
    """``Exception in callback f('x')`` keeps the callback's name and its place, not its args."""
    message = "Exception in callback handler('hunter2', 3) at /app/run.py:12"
    assert without_arguments(message) == "Exception in callback handler(...) at /app/run.py:12"
    assert without_arguments("Task exception was never retrieved") == (
        "Task exception was never retrieved"
    )
    assert without_arguments("Exception in callback f('x") == "Exception in callback f(...)"


def traceback_with(source: str) -> str:
    return (
        'Traceback (most recent call last):\n  File "/app/run.py", line 3, in main\n'
        f"    {source}\nRuntimeError: boom\n"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('connect("db", "hunter2")', f'connect("{R}", "{R}")'),
        ('client.login("bob", "hunter2")', f'client.login("{R}", "{R}")'),
        ('fetch("x", "Zq8rT2vL9mK4pW7n")', f'fetch("x", "{R}")'),
        ('fetch("x", "Zq8rT2vL9mK4pW7")', None),  # 15 characters: too short to judge
        ('fetch("x", "abcdefghijklmnopqrst")', None),  # no digit
        ('raise ValueError(f"order {order_id} could not be processed")', None),
        ('open("/var/lib/app/data-2024-01-01.json")', None),
    ],
)
def test_the_source_line_policy(source: str, expected: str | None) -> None:
    """Literals passed to a credential call, or long random ones, go; ordinary literals stay."""
    text = traceback_with(source)
    assert redact(text) == traceback_with(expected or source)


def test_the_entropy_of_random_and_ordinary_literals() -> None:
    """A random 24-character token looks random; a word, a path or a format does not."""
    assert _secrets.looks_random("Zq8rT2vL9mK4pW7nYx3BcD5f")
    for ordinary in ("application/json", "2024-01-01T00:00:00", "%Y-%m-%d %H:%M", "utf-8"):
        assert not _secrets.looks_random(ordinary)


def test_pieces_of_a_stack_trace_are_cached_as_text_only() -> None:
    """The cache of redacted frames holds strings, bounded in number and length."""
    text = traceback_with('connect("db", "hunter2")')
    redact(text)
    assert all(type(k) is str and type(v) is str for k, v in _redact._cache.items())
    for index in range(_redact._CACHED + 50):
        redact(traceback_with(f"call_a_function_with_a_long_enough_name({index})"))
    assert len(_redact._cache) == _redact._CACHED
    assert redact("x" * (_redact._MAX_CACHED_LENGTH + 1)) == "x" * (_redact._MAX_CACHED_LENGTH + 1)
    assert max(len(key) for key in _redact._cache) <= _redact._MAX_CACHED_LENGTH


# --- hostile text: near-matches, repeated -----------------------------------------------------

NEAR_MISSES = [
    "password",
    "password=",
    "'password': '",
    "passwordpassword",
    "key",
    "-key=",
    "eyJ",
    "-eyJ",
    "eyJaaaaaaaaaa.",
    "://",
    "://a:",
    "ghp_",
    "AKIA",
    "-----BEGIN",
    "Authorization: ",
    "Cookie: a=1;",
    "token ",
    "--password ",
    " -p",
    " -u a:",
    "sk-",
    'File "x"\n    f("',
    "password=((((",
    "password=( ",
    "password=f('a', ",
    "password={",
    'password=\\"',
    "input_value=",
    "password\n",
    'missing "=" after "',
    "AccountKey",
    "İ",
]
SECRET_SHAPES = [
    " password={} ",
    "\npassword: '{}'\n",
    " ghp_{}{}{} ",
    " postgres://u:{}@db ",
    " Authorization: Bearer {}\n",
    "\n-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
]


@st.composite
def hostile_texts(draw: st.DrawFn, size: int) -> tuple[str, list[str]]:
    """``size`` characters of near-matches with real secrets planted at random places."""
    unit = draw(st.sampled_from(NEAR_MISSES))
    noise = unit * (size // len(unit))
    planted: list[str] = []
    places = sorted(draw(st.lists(st.integers(0, len(noise)), min_size=1, max_size=3)))
    pieces: list[str] = []
    done = 0
    for at in places:  # each secret goes into the noise, never into another secret's shape
        secret = draw(st.text(alphabet=string.ascii_letters + string.digits, min_size=12))
        secret = "Q7" + secret[:24]  # a letter and a digit, as token rules need
        shape = draw(st.sampled_from(SECRET_SHAPES))
        pieces += [noise[done:at], shape.format(secret, secret, secret)]
        done = at
        planted.append(secret)
    pieces.append(noise[done:])
    return "".join(pieces), planted


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(hostile_texts(64 * 1024))
def test_planted_secrets_go_whatever_surrounds_them(case: tuple[str, list[str]]) -> None:
    """Secrets planted in 64 KB of near-matches are redacted; the rest is left as it was."""
    text, planted = case
    out = _redact._redact_text(text)
    for secret in planted:
        assert secret not in out


@pytest.mark.slow
@hypothesis.settings(
    max_examples=len(NEAR_MISSES), deadline=None, suppress_health_check=list(hypothesis.HealthCheck)
)
@hypothesis.given(hostile_texts(1024 * 1024))
def test_a_megabyte_of_near_matches_is_redacted_and_finishes(case: tuple[str, list[str]]) -> None:
    """1 MB of near-matches: the run ends (every rule is linear) and planted secrets go."""
    text, planted = case
    out = _redact._redact_text(text)
    for secret in planted:
        assert secret not in out


def test_a_secret_cut_by_the_length_limit_does_not_leak_its_first_part(otel: Otel) -> None:
    """A token cut short by ``max_message_length`` is too short for its rule: the cut word goes."""
    token = "ghp_" + "Zq8rT2vL9m" * 4
    threadcrash.instrument(max_message_length=64, rate_limit=0, **otel.providers)

    def crash() -> None:
        raise ValueError(f"failed with {token} and then some more words")

    run_thread(crash)
    [log] = otel.logs()
    body = str(log.body)
    assert body.endswith(" more characters]")
    assert "ghp_" not in body
    assert "ghp_" not in str(log.attributes)


def test_the_thread_role_label_is_built_from_the_redacted_name(otel: Otel) -> None:
    """A secret in a thread's name reaches neither ``thread.name`` nor the counter's role."""
    threadcrash.instrument(rate_limit=0, **otel.providers)

    def crash() -> None:
        raise ValueError("sync failed")

    run_thread(crash, name="sync-7 token=Zq8rT2vL9m")
    [log] = otel.logs()
    assert log.attributes["thread.name"] == f"sync-7 token={R}"
    [labels] = otel.counts()
    assert ("threadcrash.thread.role", f"sync-N token={R}") in labels
