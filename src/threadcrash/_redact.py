"""Redaction of secrets in messages and stack traces, before any signal is emitted.

A pattern with a group named ``secret``, or else with any group, has only that group replaced
(``password=hunter2`` becomes ``password=[REDACTED]``); a pattern without groups loses its whole
match.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

_VALUE = r"""[\w-]*["']?[ \t]*[:=][ \t]*["']?(?P<secret>[^\s"',;&)}\[\]<>]+)"""
# Each default rule starts with a lowercase literal, so the regex engine finds candidates with a
# fast substring search over the lowercased text instead of trying every position.
_DEFAULT_RULES = (
    # password=..., "api_key": "...", db_password = '...', AWS_SECRET_ACCESS_KEY=..., token: ...
    *(
        rf"{key}{_VALUE}"
        for key in (
            "passw",
            "passphrase",
            "pwd",
            "secret",
            "token",
            r"api[_-]?key",
            r"access[_-]?key",
            r"auth[_-]?key",
            r"private[_-]?key",
            "credential",
            r"session[_-]?id",
            "cookie",
        )
    ),
    # Authorization: Bearer <token> / Basic <base64>
    r"bearer[ \t]+(?P<secret>[a-z0-9._~+/=-]{6,})",
    r"basic[ \t]+(?P<secret>[a-z0-9+/=]{6,})",
    # scheme://user:password@host
    r"://[^\s/:@]*:(?P<secret>[^\s/@]+)@",
)
DEFAULT_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(rule, re.IGNORECASE) for rule in _DEFAULT_RULES
)
_LOWERCASE_PATTERNS = tuple(re.compile(rule) for rule in _DEFAULT_RULES)
# Every default rule's match contains one of these: text without any of them (most stack
# traces) is left alone after a few substring searches instead of a scan per rule.
_TRIGGERS: tuple[str, ...] = ("pass", "pwd", "secret", "token", "key", "credential", "session")
_TRIGGERS += ("cookie", "bearer", "basic", "://")


def parse_patterns(text: str) -> tuple[re.Pattern[str], ...]:
    """A JSON list of regular expressions, or else the whole text as one regular expression."""
    from ._settings import BadValue

    stripped = text.strip()
    candidates: list[object] = [stripped]
    if stripped.startswith("["):
        try:
            loaded = json.loads(stripped)
        except ValueError:
            pass
        else:
            if not isinstance(loaded, list):
                raise BadValue("expected a regular expression or a JSON list of them")
            candidates = loaded
    try:
        return compile_patterns(candidates)
    except (TypeError, re.error) as error:
        raise BadValue(f"not a regular expression ({error})") from None


def compile_patterns(patterns: Iterable[object]) -> tuple[re.Pattern[str], ...]:
    """Compile strings, keep compiled patterns; anything else is a TypeError."""
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        if isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
            compiled.append(pattern)
        elif isinstance(pattern, str):
            compiled.append(re.compile(pattern))
        else:
            raise TypeError(f"a redaction pattern must be a str or re.Pattern, not {pattern!r}")
    return tuple(compiled)


def _replacer(pattern: re.Pattern[str]) -> str | int | None:
    """The group to blank out: ``secret`` by name, else the first; None for the whole match."""
    if "secret" in pattern.groupindex:
        return "secret"
    return 1 if pattern.groups else None


class Redactor:
    """The default rules (optional) and the user's patterns, applied in that order."""

    def __init__(self, patterns: Iterable[re.Pattern[str]], defaults: bool = True) -> None:
        self._defaults = defaults
        self._patterns = [(pattern, _replacer(pattern)) for pattern in patterns]

    def __bool__(self) -> bool:
        return self._defaults or bool(self._patterns)

    def __call__(self, text: str) -> str:
        if self._defaults:
            text = _apply_defaults(text)
        for pattern, group in self._patterns:
            if group is None:
                text = pattern.sub(REDACTED, text)
            else:
                text = pattern.sub(functools.partial(_blank, group=group), text)
        return text


def _apply_defaults(text: str) -> str:
    lowered = text.lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text
    if len(lowered) != len(text):  # a character whose lowercase is longer: the slow way
        for pattern in DEFAULT_PATTERNS:
            text = pattern.sub(lambda match: _blank(match, "secret"), text)
        return text
    spans = [
        match.span("secret")
        for pattern in _LOWERCASE_PATTERNS
        for match in pattern.finditer(lowered)
    ]
    if not spans:
        return text
    spans.sort()
    parts: list[str] = []
    done = 0
    for start, end in spans:
        if start < done:  # overlaps the previous secret: widen it
            done = max(done, end)
            continue
        parts.append(text[done:start])
        parts.append(REDACTED)
        done = end
    parts.append(text[done:])
    return "".join(parts)


def _blank(match: re.Match[str], group: str | int) -> str:
    whole = match.group(0)
    start, end = match.span(group)
    if start < 0:
        return whole
    offset = match.start()
    return whole[: start - offset] + REDACTED + whole[end - offset :]
