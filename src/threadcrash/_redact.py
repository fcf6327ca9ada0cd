"""Redaction of secrets in every text that leaves threadcrash, before any signal is emitted.

The default rules are in :mod:`._secrets`.

A pattern with a group named ``secret``, or else with any group, has only that group replaced
(``password=hunter2`` becomes ``password=[REDACTED]``); a pattern without groups loses its whole
match.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable

from . import _secrets

REDACTED = "[REDACTED]"


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

    def __call__(self, text: str) -> str:
        if self._defaults:
            text = _apply_defaults(text)
            if " more characters]" in text:
                text = _CUT_WORD.sub(_blank_token_like, text)
        for pattern, group in self._patterns:
            if group is None:
                text = pattern.sub(REDACTED, text)
            else:
                text = pattern.sub(functools.partial(_blank, group=group), text)
        return text


# A text cut to its length limit before redaction may end in part of a secret, too short for
# any rule to recognise: the word the cut went through goes too, if it looks like a token
# (digits, punctuation or inner capitals; a plain word stays).
_CUT_WORD = re.compile(r"[^\s\[\]'\"=:]{4,}(?=\.\.\. \[\d+ more characters\]$)", re.MULTILINE)
_TOKEN_LIKE = re.compile(r"[0-9_./+=-]|.[A-Z]")


def _blank_token_like(match: re.Match[str]) -> str:
    word = match.group()
    return REDACTED if _TOKEN_LIKE.search(word) else word


_CACHED = 512
_MAX_CACHED_LENGTH = 1024  # so the cache holds at most about 1 MB
_MIN_CACHED_LENGTH = 64  # a thread name is cheaper to redact again than to keep
# A stack trace's frames ("File ..." and the source lines under it) and a kind's message repeat
# from crash to crash, so redactions of pieces of text are kept, keyed by the text: strings only,
# at most _CACHED pieces of at most _MAX_CACHED_LENGTH characters.
_cache: dict[str, str] = {}


def _apply_defaults(text: str) -> str:
    # a private key spans lines: cut into pieces, its header and its body would part
    if 'File "' not in text or "-----BEGIN" in text:
        return _redact_piece(text)
    parts: list[str] = []
    pending: list[str] = []  # lines outside frames, redacted together (a message may span lines)
    frame: list[str] = []
    indent = ""
    for line in text.splitlines(keepends=True):
        if frame and line.startswith(indent + "  "):
            frame.append(line)
            continue
        if frame:
            parts.append(_redact_piece("".join(frame)))
            frame = []
        position = line.find('File "')
        if position >= 0 and not line[:position].strip(" |"):
            if pending:
                parts.append(_redact_piece("".join(pending)))
                pending = []
            frame.append(line)
            indent = line[:position]
        else:
            pending.append(line)
    if frame:
        parts.append(_redact_piece("".join(frame)))
    if pending:
        parts.append(_redact_piece("".join(pending)))
    return "".join(parts)


def _redact_piece(text: str) -> str:
    if not _MIN_CACHED_LENGTH <= len(text) <= _MAX_CACHED_LENGTH:
        return _redact_text(text)
    redacted = _cache.get(text)
    if redacted is None:
        redacted = _redact_text(text)
        if len(_cache) >= _CACHED:  # the oldest piece goes
            with contextlib.suppress(KeyError, StopIteration, RuntimeError):
                del _cache[next(iter(_cache))]
        _cache[text] = redacted
    return redacted


def _redact_text(text: str) -> str:
    spans = _secrets.find(text)
    if not spans:
        return text
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:  # overlaps or touches the previous secret
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts: list[str] = []
    done = 0
    for start, end in merged:
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
