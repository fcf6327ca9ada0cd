r"""The default redaction rules: where the secrets are in a message or a stack trace.

:func:`find` returns the spans to blank out. Every scan is linear in the text: each regular
expression has bounded repetition except where nothing follows it (a greedy run that cannot
fail), each vendor token must start a run of token characters (so two attempts never rescan
one run), and a key's value is read once, the next search starting after it.

Four families of rules:

- a **key** (``password``, ``DB_PASS``, ``api_key``, ``sig``, ``Cookie`` ...) followed by
  ``=``, ``:``, ``=>``, a type annotation and ``=``, a comma after a quoted key, whitespace
  before a quoted value, or a pydantic ``input_value=`` on the next line; then its **value**:
  a quoted string to its matching unescaped quote (``b''``/``r''`` prefixes, ``\\"`` escaped
  quotes), the string literals of a call or a bracket, a ``{...}`` block, or a bare word;
- **vendor token formats** wherever they are (AWS, GitHub, GitLab, Slack, Stripe, OpenAI,
  Anthropic, Google, SendGrid, npm, PyPI, JWT, PEM blocks, webhook URLs ...);
- **URL credentials**, Authorization schemes, command-line flags, SQL and libpq forms;
- **source lines** of a stack trace: string literals of 16 characters or more, without
  whitespace, with letters and digits and high entropy; and the literals passed to a call whose
  name says it takes credentials (``connect``, ``login``, ``auth`` ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator, Iterator
from typing import NamedTuple

Span = tuple[int, int]

_MAX_CONTAINER = 1024  # characters of a call's or a bracket's arguments that are read,
_MAX_TOKENS = 16  # and at most this many literals and runs of brackets


class _Rule(NamedTuple):
    """A rule is tried only where its trigger (a plain substring) occurs."""

    trigger: str
    pattern: re.Pattern[str]
    ignorecase: re.Pattern[str]  # the same rule, for text whose lowercase has another length
    kind: str


# --- keys and their values (searched in the lowercased text) ---------------------------------

_KEY_END = r"(?![a-z0-9])"
_ANNOTATION = (
    r":[ \t]*[a-z_][\w.]{0,40}(?:\[[^\]\n]{0,60}\])?"
    r"(?:[ \t]*\|[ \t]*[a-z_][\w.]{0,40}(?:\[[^\]\n]{0,60}\])?){0,3}[ \t]+=(?!=)"
)
# after the key: its closing quote or bracket, then '=', ':', '=>', ':=', '==', an annotation
# and '=', a comma before a quoted value, spaces before a quoted value (SQL), or pydantic's
# input_value= on the next line
_SEPARATOR = (
    r"""[ \t]*(?:\\?["'`])?\]?[ \t]*(?:"""
    + _ANNOTATION
    + r"""|[:=]{1,2}>?|,(?=[ \t]*[bru]{0,2}\\?["'])|(?<=[ \t])(?=[bru]{0,2}\\?["'])"""
    + r"""|\r?\n[^\n]{0,300}?input_value=)[ \t]*"""
)
_KEYS = (
    # password, passwd, passphrase anywhere in a key; pass at its end (DB_PASS, REDIS_PASS)
    ("pass", rf"pass(?:(?:word|wd|phrase)[a-z0-9_.-]{{0,40}}|{_KEY_END})", "value"),
    ("secret", r"secret[a-z0-9_.-]{0,40}", "value"),
    ("credential", r"credential[a-z0-9_.-]{0,40}", "value"),
    ("private", r"private[a-z0-9_.-]{0,40}", "value"),
    ("signature", r"signature[a-z0-9_.-]{0,40}", "value"),
    ("token", rf"tokens?{_KEY_END}", "value"),
    ("sess", rf"sess(?:id|ion(?:[_-]?(?:id|key|token))?){_KEY_END}", "value"),
    ("pw", rf"pw(?<![a-z0-9]pw)d?{_KEY_END}", "value"),
    ("sig", rf"sig(?<![a-z0-9]sig){_KEY_END}", "value"),
    ("auth", rf"auth(?<![a-z0-9]auth){_KEY_END}", "value"),
    ("key", rf"key(?:[_-]?data)?{_KEY_END}", "key"),
    ("authorization", rf"authorization{_KEY_END}", "authorization"),
    ("cookie", rf"cookie{_KEY_END}", "cookie"),
    ("identified", rf"identified[ \t]+by{_KEY_END}", "value"),
)
# a key that ends in "key" names a secret after a separator, or after one of these (AccountKey)
_KEY_PREFIXES = (
    *("api", "access", "account", "secret", "private", "auth", "master", "signing", "shared"),
    *("encryption", "client", "app", "subscription", "license", "storage", "service", "ssh"),
    *("webhook", "consumer", "root", "admin", "deploy", "host", "function", "primary", "sas"),
    "secondary",
)
_FLAG = (
    # CLI flags with the value after a space: --password hunter2, '--token', 'abc'
    r"--(?:[a-z0-9]{1,20}-){0,4}(?:password|passwd|pass|pwd|pw|token|secret|key|auth"
    r"|credentials?)(?:[ \t]+|['\"],[ \t]*['\"])(?=[^\s-])"
)

# --- other forms (searched in the lowercased text); the secret is the group "s" -----------------

_FORMS = (
    # scheme://user:password@host; the password may hold '@', '/' or ':' (the last '@' wins)
    ("://", r"://[^\s/:@]{0,128}:(?P<s>[^\s]{1,256})@"),
    ("%3a", r"://(?P<s>[^\s/:@]{0,128}%3a[^\s/@]{1,256})@"),
    # Authorization: Bearer <token> / Basic <base64> anywhere; other schemes when long
    ("bearer", r"bearer(?<![a-z0-9]bearer)[ \t]+(?P<s>[a-z0-9._~+/=-]{6,})"),
    ("basic", r"basic(?<![a-z0-9]basic)[ \t]+(?P<s>[a-z0-9+/=]{6,})"),
    *(
        (scheme, rf"{scheme}(?<![a-z0-9]{scheme})[ \t]+(?P<s>[a-z0-9._~+/=:-]{{16,}})")
        for scheme in ("token", "apikey", "api-key", "digest", "negotiate", "ntlm", "sharedkey")
    ),
    # libpq: missing "=" after "hunter2" in connection info string
    ('missing "="', r'missing "=" after "(?P<s>[^"\n]{0,1024})"'),
    # mysql -phunter2; curl -u deploy:hunter2
    ("-p", r"""-p(?<![^\s'"]-p)(?P<s>[^\s'",]{3,})"""),
    *(
        (
            flag,
            rf"""{flag}(?<![^\s'"]{flag})(?:[ \t=]+|['"],[ \t]*['"])?['"]?"""
            r"""[^\s:'"]{1,64}:(?P<s>[^\s'"]{1,1024})""",
        )
        for flag in ("-u", "--user", "--proxy-user")
    ),
)

# --- vendor token formats (searched in the text as it is) --------------------------------------


def _token(prefix: str, body: str, before: str = "[A-Za-z0-9]") -> tuple[str, str]:
    """``prefix`` then ``body``, where ``prefix`` does not follow a character of ``before``.

    A failed attempt reads at most the body's minimum length (the bodies are greedy runs with
    nothing after them), so attempts from nearby starts cost linear time in all.
    """
    escaped = re.escape(prefix)
    return prefix, f"{escaped}(?<!{before}{escaped}){body}"


_TOKENS = (
    # AWS access key ids
    *(
        _token(prefix, "[A-Z0-9]{16}")
        for prefix in ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA")
    ),
    *(_token(prefix, "[A-Z0-9]{16}") for prefix in ("APKA", "AROA", "ASCA")),
    *(_token(f"gh{kind}_", "[A-Za-z0-9]{30,}") for kind in "pousr"),  # GitHub
    _token("github_pat_", "[A-Za-z0-9_]{20,}"),
    *(
        _token(f"gl{kind}-", "[A-Za-z0-9_-]{20,}")  # GitLab
        for kind in ("pat", "ptt", "dt", "rt", "cbt", "soat", "ft", "imt", "oas", "agent")
    ),
    _token("xox", "[abposre]-[A-Za-z0-9-]{10,}"),  # Slack
    _token("xapp-", "[A-Za-z0-9-]{10,}"),
    *(_token(f"{kind}_", "(?:live|test)_[A-Za-z0-9]{10,}") for kind in ("sk", "rk", "pk")),
    _token("whsec_", "[A-Za-z0-9+/=]{20,}"),  # Stripe webhook secret
    _token("sk-", "[A-Za-z0-9_-]{20,}"),  # OpenAI sk-proj-/sk-svcacct-, Anthropic sk-ant-
    _token("AIza", "[0-9A-Za-z_-]{35}"),  # Google API key
    _token("ya29.", "[0-9A-Za-z_-]{20,}"),  # Google OAuth access token
    _token("GOCSPX-", "[0-9A-Za-z_-]{20,}"),  # Google OAuth client secret
    _token("SG.", r"[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}"),  # SendGrid
    _token("npm_", "[A-Za-z0-9]{36}"),
    _token("pypi-", "[A-Za-z0-9_-]{50,}"),
    _token("hf_", "[A-Za-z0-9]{30,}"),  # Hugging Face
    _token("dop_v1_", "[a-f0-9]{64}"),  # DigitalOcean
    *(_token(f"shp{kind}_", "[a-fA-F0-9]{32}") for kind in ("at", "ss", "ca", "pa")),  # Shopify
    _token("dapi", "[a-f0-9]{32}"),  # Databricks
    _token("hvs.", "[A-Za-z0-9_-]{20,}"),  # HashiCorp Vault
    _token("glsa_", "[A-Za-z0-9_]{32,}"),  # Grafana service account
    _token("glc_", "[A-Za-z0-9+/=]{32,}"),  # Grafana Cloud
    _token("ATATT", "[A-Za-z0-9_=-]{20,}"),  # Atlassian
    _token("PMAK-", "[A-Za-z0-9-]{20,}"),  # Postman
    _token("NRAK-", "[A-Z0-9]{20,}"),  # New Relic
    _token("sntry", "[su]_[A-Za-z0-9+/=_-]{20,}"),  # Sentry
    _token("lin_api_", "[A-Za-z0-9]{20,}"),  # Linear
    _token("dp.", r"(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{20,}"),  # Doppler
    _token("AGE-SECRET-KEY-1", "[A-Z0-9]{20,}"),  # age
    _token("key-", "[0-9a-f]{32}"),  # Mailgun
    _token("SK", "[0-9a-f]{32}"),  # Twilio
    _token("EAA", "[A-Za-z0-9_-]{20,}"),  # Meta, Square
    _token("sq0", "(?:atp|csp)-[A-Za-z0-9_-]{20,}"),  # Square
    _token("figd_", "[A-Za-z0-9_-]{20,}"),  # Figma
    _token("ntn_", "[A-Za-z0-9]{20,}"),  # Notion
    _token("pul-", "[a-f0-9]{40}"),  # Pulumi
    _token("HRKU-", "[A-Za-z0-9_-]{20,}"),  # Heroku
    _token("dt0c01.", r"[A-Z0-9]{24}\.[A-Z0-9]{64}"),  # Dynatrace
    # JSON Web Token: a failed attempt may read a long first segment, so the token must start
    # a run of its characters: two attempts never read one run
    _token("eyJ", r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", "[A-Za-z0-9_-]"),
    # PEM blocks, whole, up to their END line (or the end of the text)
    (
        "-----BEGIN",
        r"-----BEGIN[A-Z0-9 ]{0,64}-----[^-]*(?:-(?!----END)[^-]*)*"
        r"(?:-----END[A-Z0-9 ]{0,64}-----)?",
    ),
    # webhook URLs: the part after the host is the secret
    ("hooks.slack.com/", r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[\w/-]{8,})"),
    ("/api/webhooks/", r"/api/webhooks/(?P<s>[0-9]{5,}/[A-Za-z0-9_-]{8,})"),  # Discord
    ("webhook.office.com/", r"webhook\.office\.com/webhookb2/(?P<s>[A-Za-z0-9@/_-]{8,})"),
    ("outlook.office.com/", r"outlook\.office\.com/webhook/(?P<s>[A-Za-z0-9@/_-]{8,})"),
    (
        "chat.googleapis.com/",
        r"chat\.googleapis\.com/v1/spaces/[\w-]{1,64}/messages\?(?P<s>\S{8,})",
    ),
)


def _rules(
    table: tuple[tuple[str, str, str], ...] | tuple[tuple[str, str], ...], suffix: str = ""
) -> tuple[_Rule, ...]:
    rules = []
    for trigger, pattern, *kind in table:
        full = pattern + suffix
        rules.append(
            _Rule(trigger, re.compile(full), re.compile(full, re.IGNORECASE), (kind or ["s"])[0])
        )
    return tuple(rules)


_KEY_RULES = (*_rules(_KEYS, _SEPARATOR), *_rules((("--", _FLAG, "value"),)))
_FORM_RULES = _rules(_FORMS)
_TOKEN_RULES = _rules(_TOKENS)

_PREFIX = re.compile(r"""[bBrRuUfF]{1,2}(?=\\?["'])""")
_QUOTED = {
    "'": re.compile(r"[^'\\\n]*(?:\\.[^'\\\n]*)*"),
    '"': re.compile(r'[^"\\\n]*(?:\\.[^"\\\n]*)*'),
    "`": re.compile(r"[^`\n]*"),
}
_ESCAPED_QUOTED = {  # a value inside an escaped string: \"value\" runs to the next \"
    "'": re.compile(r"[^\\\n]*(?:\\(?!')[^\\\n]*)*"),
    '"': re.compile(r'[^\\\n]*(?:\\(?!")[^\\\n]*)*'),
}
_CALL = re.compile(r"[A-Za-z_][\w.]{0,80}(?=[(\[])")
# a bare value runs to whitespace, or to '&', ';' or ',' before the next key=value
_BARE = re.compile(r"[^\s&;,]*(?:[&;,](?![ \t]*[\w.\[\]-]{1,64}[ \t]*=)[^\s&;,]*)*")
_LINE_REST = re.compile(r"[^\n]*")
_CONTAINER_TOKEN = re.compile(
    r"""[bBrRuUfF]{0,2}(?:'(?P<single>[^'\\\n]*(?:\\.[^'\\\n]*)*)'?"""
    r"""|"(?P<double>[^"\\\n]*(?:\\.[^"\\\n]*)*)"?)|(?P<open>[(\[{]+)|(?P<close>[)\]}]+)|\n"""
)
_QUOTE = re.compile(r"['\"]")
_COOKIE_PAIR = re.compile(r"[ \t]*[^=;\s]{1,256}=[ \t]*(?P<secret>[^;]*)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,30}[ \t]+(?=\S)")

# --- source lines of a stack trace ---------------------------------------------------------

_SOURCE_LINE = re.compile(r'File "[^\n]{0,4096}\n(?P<source>[^\n]{0,4096})')
_LITERAL = re.compile(  # a string literal's content (its b/r/f prefix does not matter here)
    r"""(?:'(?P<single>[^'\\\n]*(?:\\.[^'\\\n]*)*)'"""
    r"""|"(?P<double>[^"\\\n]*(?:\\.[^"\\\n]*)*)")"""
)
# searched in the lowercased line
_CREDENTIAL_CALL = re.compile(
    r"(?:connect|login|logon|signin|sign_in|auth|credential|passw|secret|token|apikey|api_key)"
    r"\w{0,40}\("
)
MIN_LITERAL = 16
MIN_ENTROPY = 3.5  # bits per character
MIN_HEX_ENTROPY = 3.0


# Every vendor token (and webhook URL) has a run of this many of these characters. A stack
# trace's "File ..." lines are left out of this test: their paths would pass it every time.
_TOKEN_GATE = re.compile(r"[A-Za-z0-9_./-]{14}")
_FILE_LINE = re.compile(r'File "[^\n]*", line \d+, in [^\n]*')
_KEY_TABLE = tuple((rule.trigger, rule) for rule in _KEY_RULES)
_FORM_TABLE = tuple((rule.trigger, rule.pattern, rule.ignorecase) for rule in _FORM_RULES)
_TOKEN_TABLE = tuple(
    (rule.trigger, rule.pattern, "s" in rule.pattern.groupindex) for rule in _TOKEN_RULES
)


def find(text: str) -> list[Span]:
    """Spans of ``text`` that hold a secret, unsorted and possibly overlapping."""
    spans: list[Span] = []
    lowered = text.lower()
    # a character whose lowercase is longer (İ) would shift every position: then search the
    # text itself, ignoring case, instead of its lowercase
    same_length = len(lowered) == len(text)
    haystack = lowered if same_length else text
    for trigger, rule in _KEY_TABLE:
        if trigger in lowered:
            spans.extend(_keys(text, haystack, rule if same_length else _ignoring_case(rule)))
    for trigger, pattern, ignorecase in _FORM_TABLE:
        if trigger in lowered:
            for match in (pattern if same_length else ignorecase).finditer(haystack):
                spans.append(match.span("s"))
    gated = _FILE_LINE.sub("", text) if 'File "' in text else text
    if _TOKEN_GATE.search(gated) is not None or "-----BEGIN" in text:
        for trigger, pattern, grouped in _TOKEN_TABLE:
            if trigger in text:
                for match in pattern.finditer(text):
                    spans.append(match.span("s") if grouped else match.span())
    if 'File "' in text:
        spans.extend(_source_lines(text))
    return spans


def _ignoring_case(rule: _Rule) -> _Rule:
    return rule._replace(pattern=rule.ignorecase)


def _keys(text: str, haystack: str, rule: _Rule) -> Iterator[Span]:
    pos = 0
    while True:
        match = rule.pattern.search(haystack, pos)
        if match is None:
            return
        start = match.end()
        if rule.kind == "key" and not _names_a_key(haystack, match.start()):
            pos = match.start() + 1
            continue
        if rule.kind == "authorization":
            end = yield from _authorization(text, start)
        elif rule.kind == "cookie":
            end = yield from _cookies(text, start)
        else:
            end = yield from value(text, start)
        pos = max(end, start, match.start() + 1)


def _names_a_key(haystack: str, start: int) -> bool:
    """``key`` at ``start`` ends a key name: a word of its own, or ``apikey``, ``AccountKey``..."""
    if start == 0 or not haystack[start - 1].isalnum():
        return True
    before = haystack[max(0, start - 12) : start].lower()
    return before.endswith(_KEY_PREFIXES)


def value(text: str, pos: int) -> Generator[Span, None, int]:
    """The secret spans of the value that starts at ``pos``; returns where the search goes on.

    A quoted string and a bare value are secrets whole, so the search goes on after them. A
    call or a bracket loses its string literals, and the search goes on inside it: a key there
    (``dict(a=1, token=...)``) is found too.
    """
    prefix = _PREFIX.match(text, pos)
    if prefix is not None:
        pos = prefix.end()
    char = text[pos : pos + 1]
    if char == "\\" and text[pos + 1 : pos + 2] in ("'", '"'):
        found = _ESCAPED_QUOTED[text[pos + 1]].match(text, pos + 2)
        assert found is not None  # each of these patterns matches the empty string
        if found.end() > found.start():
            yield found.span()
        return found.end()
    if char in _QUOTED:
        found = _QUOTED[char].match(text, pos + 1)
        assert found is not None
        if found.end() > found.start():
            yield found.span()
        return found.end() + 1
    opening = pos if char in ("(", "[", "{") else None
    if opening is None:
        call = _CALL.match(text, pos)
        opening = None if call is None else call.end()
    if opening is not None:
        spans, raw = _container(text, opening, raw=text[opening] == "{")
        if spans:
            yield from spans
            return spans[-1][1] if raw else opening + 1
    bare = _BARE.match(text, pos)
    assert bare is not None  # it matches the empty string
    if bare.end() > pos:
        yield bare.span()
    return bare.end()


def _container(text: str, pos: int, *, raw: bool) -> tuple[list[Span], bool]:
    """The string literals in the bracket that opens at ``pos``, up to its close or the line end.

    At most ``_MAX_CONTAINER`` characters and ``_MAX_TOKENS`` tokens are read. With ``raw`` (a
    ``{...}`` value such as ODBC's ``PWD={...}``) and no literal inside, the whole content is
    the secret (and the second item is True).
    """
    depth = 0
    spans: list[Span] = []
    limit = min(len(text), pos + _MAX_CONTAINER)
    end = limit
    if not raw and _QUOTE.search(text, pos, limit) is None:
        return spans, False  # no literal to find
    for count, token in enumerate(_CONTAINER_TOKEN.finditer(text, pos, limit)):
        if count >= _MAX_TOKENS:
            end = token.start()
            break
        opened = token.group("open")
        closed = token.group("close")
        if opened is not None:
            depth += len(opened)
        elif closed is not None:
            if depth <= len(closed):
                end = token.start() + max(depth, 1) - 1
                break
            depth -= len(closed)
        elif token.group(0) == "\n":
            end = token.start()
            break
        else:
            group = "single" if token.group("single") is not None else "double"
            if token.end(group) > token.start(group):
                spans.append(token.span(group))
    if raw and not spans and end > pos + 1:
        return [(pos + 1, end)], True
    return spans, False


def _quoted_or_line(text: str, pos: int) -> tuple[int, int, int]:
    """The value at ``pos``: (start, end, where it ends) of a quoted string or of the line."""
    quote = text[pos : pos + 1]
    if quote in ("'", '"'):
        found = _QUOTED[quote].match(text, pos + 1)
        assert found is not None
        return found.start(), found.end(), found.end() + 1
    rest = _LINE_REST.match(text, pos)
    assert rest is not None
    end = pos + len(rest.group().rstrip())
    return pos, end, rest.end()


def _authorization(text: str, pos: int) -> Generator[Span, None, int]:
    """``Authorization: <scheme> <credentials>``: everything after the scheme is the secret."""
    prefix = _PREFIX.match(text, pos)
    if prefix is not None:
        pos = prefix.end()
    start, end, after = _quoted_or_line(text, pos)
    scheme = _SCHEME.match(text, start, end)
    if scheme is not None:
        start = scheme.end()
    if end > start:
        yield start, end
    return after


def _cookies(text: str, pos: int) -> Generator[Span, None, int]:
    """``Cookie: a=1; b=2``: every cookie's value, one by one (or the whole value if unpaired)."""
    if text[pos : pos + 1] in ("{", "(", "["):
        return (yield from value(text, pos))
    prefix = _PREFIX.match(text, pos)
    if prefix is not None:
        pos = prefix.end()
    start, end, after = _quoted_or_line(text, pos)
    paired = False
    for pair in _COOKIE_PAIR.finditer(text, start, end):
        paired = True
        if pair.end("secret") > pair.start("secret"):
            yield pair.span("secret")
    if not paired and end > start:
        yield start, end
    return after


def _source_lines(text: str) -> Iterator[Span]:
    """String literals on a stack trace's source lines that look like credentials."""
    for line in _SOURCE_LINE.finditer(text):
        start, end = line.span("source")
        source = line.group("source")
        if "'" not in source and '"' not in source:
            continue
        lowered = source.lower()
        call_at = end  # where a credential call starts, as a position in text
        if "(" in source:
            call = _CREDENTIAL_CALL.search(lowered)
            if call is not None and len(lowered) == len(source):
                call_at = start + call.start()
        for literal in _LITERAL.finditer(text, start, end):
            group = "single" if literal.group("single") is not None else "double"
            content = literal.group(group)
            if content and (literal.start() > call_at or looks_random(content)):
                yield literal.span(group)


_HEX = re.compile(r"[0-9a-f]{32,}|[0-9A-F]{32,}")
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9+/=_-]+")
_WORD = re.compile(r"[a-z]{8}")


def looks_random(content: str) -> bool:
    """A literal that looks generated: long, in a token alphabet, mixed, with high entropy.

    Hex of 32 digits or more, with letters and digits and 3 bits of entropy per character;
    otherwise base64 or alphanumeric characters only (no '.', ':', '%' or spaces: paths, URLs,
    formats, prose), with upper and lower case letters and digits, no run of 8 lowercase
    letters (a word), and 3.5 bits per character.
    """
    if len(content) < MIN_LITERAL or not _TOKEN_ALPHABET.fullmatch(content):
        return False
    if not any(char.isdigit() for char in content):
        return False
    if _HEX.fullmatch(content):
        return not content.isdigit() and entropy(content) >= MIN_HEX_ENTROPY
    if content.islower() or content.isupper() or _WORD.search(content):
        return False
    return entropy(content) >= MIN_ENTROPY


def entropy(text: str) -> float:
    """Shannon entropy of the characters of ``text``, in bits per character."""
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    size = len(text)
    return -sum(count / size * math.log2(count / size) for count in counts.values())
