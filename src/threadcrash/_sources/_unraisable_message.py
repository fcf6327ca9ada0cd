"""The fixed part of an unraisable hook's message, without the object's ``repr()`` in it.

Up to 3.12 CPython passes the object apart (``err_msg="Exception ignored in"``,
``object=<the object>``). Since 3.13 for threads, and 3.14 for most others (deallocators, weakref
callbacks, generators...), it formats the object's ``repr()`` into the message and passes
``object=None``: ``Exception ignored while calling weakref callback functools.partial(<function
close at 0x...>, 'db-password')``. A repr can hold anything, so only the fixed text before it
is kept, and the object is described from the repr only where the repr is one of CPython's own
default forms (a function, a bound method, a plain object), which hold a name and an address.
"""

from __future__ import annotations

import re

# The text CPython (3.13 to 3.15) puts before a %R of the object, longest first where one
# starts another.
_BEFORE_OBJECT = (
    "Exception ignored in atfork callback while copying list",
    "Exception ignored in atfork callback",
    "Exception ignored in atexit callback",
    "Exception ignored in thread started by",
    "Exception ignored on calling weakref callback",
    "Exception ignored while calling GC callback",
    "Exception ignored while calling asyncio function",
    "Exception ignored while calling deallocator",
    "Exception ignored while calling weakref callback",
    "Exception ignored while clearing thread local",
    "Exception ignored while closing generator",
    "Exception ignored while deleting thread local of",
    "Exception ignored while discarding thread watchdog of",
    "Exception ignored while finalizing async generator",
    "Exception ignored while finalizing coroutine",
    "Exception ignored while finalizing file",
    "Exception ignored while finalizing generator",
    "Exception ignored while finalizing scandir iterator",
    "Exception ignored while finalizing socket",
    "Exception ignored while removing an interned string",
)
# `Exception ignored in dict watcher callback for <...>`, `... type watcher callback #3 for <...>`
_WATCHER = re.compile(r"(Exception ignored in \w+ watcher callback)(?: #\d+)? for ")
# A message CPython does not write: its leading plain words (a repr starts with `<`, a
# `Type(`, a quote, a digit...).
_PLAIN_WORDS = re.compile(r"[A-Za-z_][\w.]*(?: [A-Za-z_][\w.]*)*:?")

_MAX_SCAN = 1024
_NAME = r"[A-Za-z_][\w.<>]*"
_ADDRESS = r"0x[0-9a-fA-F]+"
_FUNCTION = re.compile(rf"<function ({_NAME}) at ({_ADDRESS})>")
_BOUND_METHOD = re.compile(rf"<bound method ({_NAME}) of ")
_PLAIN_OBJECT = re.compile(rf"<({_NAME}) object at ({_ADDRESS})>")
_GENERATOR = re.compile(rf"<(generator|coroutine|async_generator) object {_NAME} at ({_ADDRESS})>")
_CALL_FORM = re.compile(r"([A-Za-z_][\w.]*)\(")


def split(err_msg: str) -> tuple[str, str | None]:
    """``(fixed text, description of the object folded into it, or None)``; never raises."""
    err_msg = err_msg[:_MAX_SCAN]  # a repr can be huge; what is kept is at the start
    for prefix in _BEFORE_OBJECT:
        if err_msg.startswith(prefix):
            return prefix, _describe_repr(err_msg[len(prefix) :].lstrip())
    watcher = _WATCHER.match(err_msg)
    if watcher is not None:
        return watcher.group(1), _describe_repr(err_msg[watcher.end() :])
    plain = _PLAIN_WORDS.match(err_msg)
    fixed = plain.group(0) if plain is not None else ""
    rest = err_msg[len(fixed) :].strip()
    return fixed.rstrip(":") or "Exception ignored", _describe_repr(rest) if rest else None


def _describe_repr(text: str) -> str | None:
    """A description from a default repr, in :func:`describe`'s words; None for any other."""
    if match := _FUNCTION.fullmatch(text):
        return f"<function {match.group(1)} at {match.group(2)}>"
    if match := _BOUND_METHOD.match(text):
        return f"<method {match.group(1)}>"
    if match := _PLAIN_OBJECT.fullmatch(text):
        return f"<{match.group(1)} object at {match.group(2)}>"
    if match := _GENERATOR.fullmatch(text):
        return f"<{match.group(1)} object at {match.group(2)}>"
    if match := _CALL_FORM.match(text):
        return f"<{match.group(1)} object>"  # `functools.partial(...)`: the type, no arguments
    return None
