"""The unraisable hook's message on every Python: the fixed text, never an object's repr."""

from __future__ import annotations

import functools
import gc
import sys
import weakref
from typing import Any

import pytest

import threadcrash
from tests.otel import Otel
from threadcrash._sources._unraisable_message import split

SECRET = "db-password-4f1c"


@pytest.mark.parametrize(
    ("err_msg", "expected"),
    [
        ("Exception ignored in", ("Exception ignored in", None)),
        (
            "Exception ignored while calling deallocator <function Conn.__del__ at 0x7f12ab>",
            ("Exception ignored while calling deallocator", "<function Conn.__del__ at 0x7f12ab>"),
        ),
        (
            "Exception ignored while calling deallocator <app.Conn object at 0x7f12ac>",
            ("Exception ignored while calling deallocator", "<app.Conn object at 0x7f12ac>"),
        ),
        (
            "Exception ignored in thread started by <function crash at 0x1f>",
            ("Exception ignored in thread started by", "<function crash at 0x1f>"),
        ),
        (
            "Exception ignored while calling weakref callback "
            f"functools.partial(<function close at 0x7f>, '{SECRET}')",
            ("Exception ignored while calling weakref callback", "<functools.partial object>"),
        ),
        (
            "Exception ignored in atexit callback <bound method Pool.stop of <Pool secret=1>>",
            ("Exception ignored in atexit callback", "<method Pool.stop>"),
        ),
        (
            "Exception ignored while finalizing generator <generator object f.<locals>.g at 0xab>",
            ("Exception ignored while finalizing generator", "<generator object at 0xab>"),
        ),
        (
            "Exception ignored while finalizing file <_io.TextIOWrapper name='/srv/secret.txt'>",
            ("Exception ignored while finalizing file", None),
        ),
        (
            "Exception ignored in type watcher callback #3 for <class 'app.Secret'>",
            ("Exception ignored in type watcher callback", None),
        ),
        (
            "Exception ignored while flushing sys.stdout",
            ("Exception ignored while flushing sys.stdout", None),
        ),
        (f"'{SECRET}'", ("Exception ignored", None)),
    ],
)
def test_the_fixed_text_is_kept_and_a_repr_only_described(
    err_msg: str, expected: tuple[str, str | None]
) -> None:
    """CPython's message keeps its fixed words; an object folded in is described, never copied."""
    assert split(err_msg) == expected


class Conn:
    def __init__(self, password: str) -> None:
        self.password = password

    def __repr__(self) -> str:
        return f"Conn(password={self.password!r})"

    def close(self, label: str, ref: object) -> None:
        raise OSError(f"close failed for {type(self).__name__}")


def _all_text(otel: Otel) -> str:
    """Every attribute, body and event of every signal, as one string."""
    texts: list[str] = []
    for span in otel.spans():
        texts.append(repr(dict(span.attributes or {})))
        texts.extend(repr(dict(event.attributes or {})) for event in span.events)
    for log in otel.logs():
        texts.append(f"{log.body!r} {dict(log.attributes or {})!r}")
    return "\n".join(texts)


def test_a_secret_in_a_weakref_callbacks_arguments_reaches_no_signal(otel: Otel) -> None:
    """A failing weakref callback holding a password is reported without the password."""
    calls: list[Any] = []
    sys.unraisablehook = calls.append
    threadcrash.instrument(**otel.providers)

    class Target:
        pass

    target = Target()
    conn = Conn(SECRET)
    ref = weakref.ref(target, functools.partial(Conn.close, conn, SECRET))
    del target
    gc.collect()
    assert ref() is None
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    assert attributes["threadcrash.source"] == "unraisable"
    assert attributes["exception.type"] == "OSError"
    assert attributes["threadcrash.unraisable.message"] in (
        "Exception ignored in",  # up to 3.13 the callback comes apart, as the object
        "Exception ignored while calling weakref callback",
    )
    # ``<functools.partial object at 0x...>`` from the object, or without the address from the
    # repr that 3.14 folds into the message
    assert str(attributes["threadcrash.unraisable.object"]).startswith("<functools.partial object")
    assert SECRET not in _all_text(otel)
    assert len(calls) == 1  # CPython's hook (here a recorder) still gets the original


def test_a_del_is_described_by_its_qualified_name_on_every_version(otel: Otel) -> None:
    """An error in ``__del__`` names ``Type.__del__``, whether or not CPython folds it in."""

    class Leaky:
        def __repr__(self) -> str:
            return f"Leaky({SECRET})"

        def __del__(self) -> None:
            raise OSError("cannot close")

    sys.unraisablehook = lambda unraisable: None
    threadcrash.instrument(**otel.providers)
    Leaky()
    gc.collect()
    (span,) = otel.spans()
    attributes = dict(span.attributes or {})
    described = str(attributes["threadcrash.unraisable.object"])
    assert described.startswith("<function ")
    assert "Leaky.__del__ at 0x" in described
    assert attributes["threadcrash.unraisable.message"] in (
        "Exception ignored in",
        "Exception ignored while calling deallocator",
    )
    assert SECRET not in _all_text(otel)


def test_a_huge_folded_repr_is_not_scanned_whole() -> None:
    """A megabyte-long repr in the message gives the fixed text and no description of it."""
    err_msg = (
        "Exception ignored while calling deallocator <function " + "x" * 1_000_000 + " at 0x1>"
    )
    assert split(err_msg) == ("Exception ignored while calling deallocator", None)
