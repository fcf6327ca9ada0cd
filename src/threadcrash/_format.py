"""Bounded, non-raising text for an exception: message, Python-style stack trace, fingerprint."""

from __future__ import annotations

import linecache
import sys
import traceback
from types import CodeType, TracebackType

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
_HEADER = "Traceback (most recent call last):\n"
_REPEAT_THRESHOLD = 3  # CPython prints a repeated frame this often before collapsing it
_MAX_CHAIN = 32  # exceptions of one __cause__/__context__ chain that are formatted
_MAX_FRAMES = 200  # distinct frame lines kept per exception (innermost first)
_MAX_NOTES = 32
_FINGERPRINT_FRAMES = 64
_STR_FAILED = "<exception str() failed>"

Frame = tuple[str, int | None, str, CodeType, dict[str, object]]


def type_name(exc_type: type[BaseException]) -> str:
    """``module.QualName``, or ``QualName`` for builtins, as the OpenTelemetry SDK writes it."""
    try:  # a metaclass may make these properties that raise anything
        module = getattr(exc_type, "__module__", None)
        name = getattr(exc_type, "__qualname__", None) or getattr(exc_type, "__name__", "?")
    except BaseException:
        return "?"
    # type() checks only: isinstance() and truth tests may run a hostile object's code
    if type(name) is not str:
        name = "?"
    if type(module) is str and module and module != "builtins":
        return f"{module}.{name}"
    return name


def clean(text: str) -> str:
    r"""Make ``text`` encodable as UTF-8 (lone surrogates become ``\\udXXX`` escapes)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def truncate(text: str, limit: int) -> str:
    """Keep the start of ``text``, at most ``limit`` characters including the marker."""
    if len(text) <= limit:
        return text
    marker = f"... [{len(text) - limit} more characters]"
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


def truncate_head(text: str, limit: int) -> str:
    """Keep the end of a traceback (the innermost frames and the exception), cut at a line."""
    if len(text) <= limit:
        return text
    marker_room = 64
    keep = text[len(text) - max(limit - len(_HEADER) - marker_room, 0) :]
    newline = keep.find("\n")
    if 0 <= newline < len(keep) - 1:
        keep = keep[newline + 1 :]
    omitted = len(text) - len(keep) - len(_HEADER)
    result = f"{_HEADER}  ... [{omitted} characters of outer frames omitted]\n{keep}"
    return result[-limit:] if len(result) > limit else result


def bound(text: str, limit: int) -> str:
    """Valid UTF-8 of at most ``limit`` characters, keeping the start.

    Cut first (a huge text is not escaped whole), then escape (a lone surrogate becomes six
    characters), then cut again if escaping made it longer.
    """
    return truncate(clean(truncate(text, limit)), limit)


def bound_tail(text: str, limit: int) -> str:
    """Valid UTF-8 of at most ``limit`` characters, keeping the end (a traceback's innermost)."""
    return truncate_head(clean(truncate_head(text, limit)), limit)


def safe_str(value: object) -> str:
    """``str(value)`` that never raises and always returns a ``str``.

    Like CPython's own ``traceback._safe_string``, any failure counts, even a ``__str__`` that
    raises ``KeyboardInterrupt`` or ``SystemExit``: it must not take the crash report with it.
    """
    try:
        text = str(value)
    except BaseException:
        return _STR_FAILED
    if type(text) is not str:  # a __str__ returning a str subclass
        try:
            text = "".join(text)
        except BaseException:
            return _STR_FAILED
    return text


def message(exc: BaseException | None, limit: int) -> str:
    """``str(exc)``, bounded and valid UTF-8; never raises."""
    if exc is None:
        return ""
    return bound(safe_str(exc), limit)


def frames(tb: TracebackType | None) -> list[Frame]:
    """The frames of a traceback, outermost first, as plain tuples."""
    result: list[Frame] = []
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        result.append((code.co_filename, tb.tb_lineno, code.co_name, code, frame.f_globals))
        tb = tb.tb_next
    return result


def qualname(code: CodeType) -> str:
    """The function's qualified name where the interpreter knows it (3.11+), else its name."""
    name: str = getattr(code, "co_qualname", code.co_name)
    return name


def fingerprint(type_text: str, stack: list[Frame]) -> str:
    """A short stable hash of the type and the frames' module and function (no lines, no text)."""
    keys = [type_text]
    for _, _, _, code, f_globals in stack[-_FINGERPRINT_FRAMES:]:
        key = f"{f_globals.get('__name__', '?')}:{qualname(code)}"
        if key != keys[-1]:  # recursion depth must not change the group
            keys.append(key)
    data = "\0".join(keys).encode("utf-8", "backslashreplace")
    import hashlib  # at the first crash: loading it costs more than the rest of start-up  # noqa: PLC0415

    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _exception_line(exc: BaseException, text: str | None = None) -> list[str]:
    stype = type_name(type(exc))
    if stype.startswith("__main__."):
        stype = stype[len("__main__.") :]
    body = safe_str(exc) if text is None else text
    lines = [f"{stype}: {body}\n" if body else f"{stype}\n"]
    try:  # a __notes__ property may raise anything
        notes = getattr(exc, "__notes__", None)
    except BaseException:
        notes = None
    if type(notes) in (list, tuple):
        for note in notes[:_MAX_NOTES]:  # type: ignore[index]
            lines.append(f"{note if type(note) is str else safe_str(note)}\n")
    return lines


def _stack_lines(stack: list[Frame]) -> list[str]:
    """CPython's frame lines (without its caret lines), innermost ``_MAX_FRAMES`` kept."""
    collapsed: list[tuple[str, int | None, str, CodeType, dict[str, object], int]] = []
    for filename, lineno, name, code, f_globals in stack:
        if collapsed:
            last = collapsed[-1]
            if last[0] == filename and last[1] == lineno and last[2] == name:
                collapsed[-1] = (*last[:5], last[5] + 1)
                continue
        collapsed.append((filename, lineno, name, code, f_globals, 1))
    omitted = max(len(collapsed) - _MAX_FRAMES, 0)
    out: list[str] = []
    if omitted:
        out.append(f"  ... [{omitted} outer frames omitted]\n")
    checked: set[str] = set()
    for filename, lineno, name, _code, f_globals, count in collapsed[omitted:]:
        shown = min(count, _REPEAT_THRESHOLD)
        entry = f'  File "{filename}", line {lineno}, in {name}\n'
        source = _source_line(filename, lineno, f_globals, checked)
        if source:
            entry += f"    {source}\n"
        out.extend([entry] * shown)
        if count > shown:
            more = count - shown
            out.append(f"  [Previous line repeated {more} more time{'s' if more > 1 else ''}]\n")
    return out


def _source_line(
    filename: str, lineno: int | None, f_globals: dict[str, object], checked: set[str]
) -> str:
    """The frame's source line, stripped; "" when it cannot be read (a loader may raise)."""
    if not lineno:
        return ""
    try:
        if filename not in checked:
            checked.add(filename)
            linecache.lazycache(filename, f_globals)
        line = linecache.getline(filename, lineno, f_globals)
    except BaseException:
        return ""
    return line.strip() if isinstance(line, str) else ""


def _is_group(exc: BaseException) -> bool:
    group = getattr(sys.modules.get("builtins"), "BaseExceptionGroup", None)
    # type(), not isinstance(): isinstance() falls back on a __class__ property, which may raise
    return group is not None and issubclass(type(exc), group)


def _chain(exc: BaseException) -> list[tuple[BaseException, str]]:
    """The exceptions to print, oldest first, each with the separator that follows it."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    separator = ""
    while current is not None and id(current) not in seen and len(chain) < _MAX_CHAIN:
        seen.add(id(current))
        chain.append((current, separator))
        try:  # a subclass may make these properties that raise anything: the chain stops there
            cause = current.__cause__
            context = current.__context__
            suppressed = bool(current.__suppress_context__)
        except BaseException:
            break
        if cause is not None and issubclass(type(cause), BaseException):
            current, separator = cause, _CAUSE
        elif context is not None and issubclass(type(context), BaseException) and not suppressed:
            current, separator = context, _CONTEXT
        else:
            current = None
    chain.reverse()
    return chain


def stacktrace(
    exc: BaseException | None,
    exc_type: type[BaseException],
    tb: TracebackType | None,
    stack: list[Frame],
    message_text: str,
    limit: int,
) -> str:
    """Python's traceback text for the crash, bounded to ``limit`` characters (innermost kept).

    ``stack`` and ``message_text`` are the already-extracted frames and message of ``exc``,
    so the crash's own frames are walked and its ``__str__`` is called only once.
    """
    if exc is None:
        return truncate_head(f"{type_name(exc_type)}\n", limit)
    chain = _chain(exc)
    if any(_is_group(item) for item, _ in chain):
        return bound_tail(_format_with_traceback_module(exc, tb), limit)
    parts: list[str] = []
    for item, separator in chain:
        own = item is exc
        item_stack = stack if own else frames(item.__traceback__)
        if item_stack:
            parts.append(_HEADER)
            parts.extend(_stack_lines(item_stack))
        parts.extend(_exception_line(item, message_text if own else None))
        parts.append(separator)
    return bound_tail("".join(parts), limit)


def _format_with_traceback_module(exc: BaseException, tb: TracebackType | None) -> str:
    """Exception groups: CPython's own renderer, which bounds width and depth itself."""
    try:
        return "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:
        return f"{type_name(type(exc))}: {safe_str(exc)}\n"
