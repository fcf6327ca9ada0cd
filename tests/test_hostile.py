"""Hostile exceptions through the real hook: one bounded report each, never an error out of it."""

from __future__ import annotations

import builtins
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import threadcrash
from tests.helpers import our_frames
from tests.otel import Otel
from threadcrash._record import Limits, ThreadFacts, build_record

MESSAGE_LIMIT = 256
STACK_LIMIT = 2048
HAS_GROUPS = sys.version_info >= (3, 11)
GROUP: Any = vars(builtins).get("ExceptionGroup")


# --- a harness: real providers, a recording previous hook, real threads --------------------------


@dataclass
class Harness:
    """threadcrash on real SDK providers, chaining to a hook that records what it was given."""

    otel: Otel
    previous_calls: list[BaseException | None] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def crash(self, exc: BaseException, depth: int = 0) -> None:
        """Raise ``exc`` in a real thread, ``depth`` frames down; wait for it (bounded)."""

        def dive(level: int) -> None:
            if level:
                dive(level - 1)
            raise exc

        thread = threading.Thread(target=dive, args=(depth,))
        thread.start()
        thread.join(30)
        assert not thread.is_alive()


@contextmanager
def harness(otel: Otel, **options: Any) -> Iterator[Harness]:
    """Install threadcrash in front of a recording hook; take both down afterwards."""
    state = Harness(otel)

    def previous(args: Any) -> None:
        state.previous_calls.append(args.exc_value)

    def capture(_logger: object, _method: str, event: Any) -> str:
        state.events.append(dict(event))
        raise structlog.DropEvent

    structlog.configure(processors=[capture])
    threading.excepthook = previous
    threadcrash.instrument(rate_limit=0, **options, **otel.providers)
    try:
        yield state
    finally:
        threadcrash.uninstrument()
        threading.excepthook = threading.__excepthook__
        structlog.reset_defaults()


def assert_bounded_utf8(value: object, limit: int | None = None) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # strict: no lone surrogates
        if limit is not None:
            assert len(value) <= limit


def assert_one_bounded_report(state: Harness, exc: BaseException) -> None:
    """Exactly one report on every signal, every text bounded and valid UTF-8; chained once."""
    otel = state.otel
    assert state.previous_calls == [exc]
    assert otel.total() == 1
    [span] = otel.spans()
    [log] = otel.logs()
    [event] = state.events
    texts: list[tuple[str, object]] = []
    texts.extend((key, value) for key, value in (span.attributes or {}).items())
    texts.extend((key, value) for key, value in (span.events[0].attributes or {}).items())
    texts.extend((key, value) for key, value in (log.attributes or {}).items())
    texts.extend(event.items())
    texts.append(("exception.message", log.body))
    for key, value in texts:
        assert isinstance(value, (str, int, float, bool)), (key, type(value))
        if key == "exception.message":
            assert_bounded_utf8(value, MESSAGE_LIMIT)
        elif key in ("exception.stacktrace", "exception"):
            assert_bounded_utf8(value, STACK_LIMIT)
        else:
            assert_bounded_utf8(value, 4096)


# --- deterministic hostile cases ----------------------------------------------------------------


class StrRaises(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


class StrRaisesKeyboardInterrupt(Exception):
    def __str__(self) -> str:
        raise KeyboardInterrupt


class StrReturnsInt(Exception):
    def __str__(self) -> Any:
        return 42  # noqa: PLE0307 - the point of the test


class ReprRaises:
    def __repr__(self) -> str:
        raise ValueError("no repr")


def cause_cycle() -> BaseException:
    first, second = ValueError("first"), KeyError("second")
    first.__cause__ = second
    second.__context__ = first
    return first


def long_chain(length: int) -> BaseException:
    exc: BaseException = ValueError("link 0")
    for index in range(1, length):
        nxt = ValueError(f"link {index}")
        nxt.__cause__ = exc
        exc = nxt
    return exc


def nested_groups(depth: int, width: int) -> BaseException:
    exc: BaseException = GROUP("leaf", [ValueError(str(i)) for i in range(width)])
    for level in range(depth):
        exc = GROUP(f"level {level}", [exc, KeyError(level)])
    return exc


HOSTILE: dict[str, Callable[[], BaseException]] = {
    "str-raises": StrRaises,
    "str-raises-keyboard-interrupt": StrRaisesKeyboardInterrupt,
    "str-returns-int": StrReturnsInt,
    "repr-of-arg-raises": lambda: KeyError(ReprRaises()),
    "five-megabyte-message": lambda: ValueError("x" * 5_000_000),
    "five-megabyte-non-ascii": lambda: ValueError("é\U0001f4a5" * 2_500_000),
    "lone-surrogates-and-nul": lambda: ValueError("bad \udc80\ud800 and \x00 nul \x00"),
    "lone-surrogates-past-the-limit": lambda: ValueError("\ud800" * 10_000),
    "binary-argument": lambda: ValueError(bytes(range(256))),
    "cause-cycle": cause_cycle,
    "chain-of-5000": lambda: long_chain(5000),
    "notes-not-strings": lambda: _with_notes(ValueError("n"), [1, None, b"\xff", ReprRaises()]),
    "huge-notes": lambda: _with_notes(ValueError("n"), ["note " * 100_000] * 1000),
}


def _with_notes(exc: BaseException, notes: object) -> BaseException:
    exc.__notes__ = notes  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize("make", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_exception_gives_one_bounded_report(otel: Otel, make: Any) -> None:
    """The report is whole, bounded and valid UTF-8; the previous hook gets the crash once."""
    exc = make()
    with harness(
        otel, max_message_length=MESSAGE_LIMIT, max_stacktrace_length=STACK_LIMIT
    ) as state:
        state.crash(exc)
        assert_one_bounded_report(state, exc)


@pytest.mark.skipif(not HAS_GROUPS, reason="ExceptionGroup is new in 3.11")
@pytest.mark.parametrize(("depth", "width"), [(1, 200), (50, 2), (400, 1)])
def test_nested_exception_groups_give_one_bounded_report(
    otel: Otel, depth: int, width: int
) -> None:
    """Wide or deep exception groups: one bounded report, rendered as CPython renders groups."""
    exc = nested_groups(depth, width)
    with harness(
        otel, max_message_length=MESSAGE_LIMIT, max_stacktrace_length=STACK_LIMIT
    ) as state:
        state.crash(exc)
        assert_one_bounded_report(state, exc)
        [log] = otel.logs()
        assert log.attributes["exception.type"] == "ExceptionGroup"


def test_a_recursion_error_at_a_thousand_frames(otel: Otel) -> None:
    """A thread that recursed 1000 deep: one report, innermost frame kept, repeats collapsed."""
    caught: list[BaseException] = []

    def recurse(level: int) -> int:
        return recurse(level + 1) + 1

    def run() -> None:
        try:
            recurse(0)
        except RecursionError as error:
            caught.append(error)
            raise

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with harness(
            otel, max_message_length=MESSAGE_LIMIT, max_stacktrace_length=STACK_LIMIT
        ) as state:
            thread = threading.Thread(target=run)
            thread.start()
            thread.join(30)
            [exc] = caught
            assert_one_bounded_report(state, exc)
            [log] = otel.logs()
            assert log.attributes["code.function.name"].endswith("recurse")
            assert "more times]" in log.attributes["exception.stacktrace"]
    finally:
        sys.setrecursionlimit(limit)


def test_system_exit_is_not_a_crash_even_when_hostile(otel: Otel) -> None:
    """An exact ``SystemExit`` is no report, as in CPython; the previous hook still gets it."""
    exc = SystemExit(ReprRaises())
    with harness(otel) as state:
        state.crash(exc)
        assert otel.total() == 0
        assert otel.spans() == []
        assert state.previous_calls == [exc]


def test_cpythons_hook_still_prints_the_hostile_crash(
    otel: Otel, capfd: pytest.CaptureFixture[str]
) -> None:
    """Chained to CPython's default hook, a ``__str__`` raising ``KeyboardInterrupt`` prints."""
    threadcrash.instrument(rate_limit=0, **otel.providers)
    thread = threading.Thread(target=_raise, args=(StrRaisesKeyboardInterrupt(),), name="bad")
    thread.start()
    thread.join(30)
    err = capfd.readouterr().err
    assert "Exception in thread bad:" in err
    assert "StrRaisesKeyboardInterrupt: <exception str() failed>" in err
    assert our_frames(err) == []
    assert "Error in threading.excepthook" not in err
    assert otel.total() == 1


def _raise(exc: BaseException) -> None:
    raise exc


# --- generated exceptions -----------------------------------------------------------------------

any_text = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()),
    max_size=40,
)
huge_text = st.builds(
    lambda unit, times: unit * times, any_text.filter(bool), st.integers(1, 100_000)
)


class _Hostile:
    """An argument whose ``__repr__`` and ``__str__`` do something unpleasant."""

    def __init__(self, behaviour: str, text: str) -> None:
        self.behaviour = behaviour
        self.text = text

    def _act(self) -> Any:
        if self.behaviour == "raise":
            raise RuntimeError(self.text)
        if self.behaviour == "raise-base":
            raise KeyboardInterrupt(self.text)
        if self.behaviour == "non-str":
            return len(self.text)
        if self.behaviour == "str-subclass":
            return type("Sub", (str,), {})(self.text)
        return self.text

    def __repr__(self) -> Any:
        return self._act()

    def __str__(self) -> Any:
        return self._act()


behaviours = st.sampled_from(["raise", "raise-base", "non-str", "str-subclass", "text"])
arguments = st.one_of(
    any_text,
    huge_text,
    st.binary(max_size=64),
    st.integers(),
    st.floats(),
    st.none(),
    st.builds(_Hostile, behaviours, any_text),
)
bases = st.sampled_from(
    [Exception, ValueError, KeyError, OSError, RuntimeError, UnicodeError, ArithmeticError]
)
identifiers = any_text.filter(lambda text: text and "\x00" not in text)


@st.composite
def exception_classes(draw: st.DrawFn) -> type[BaseException]:
    base = draw(bases)
    namespace: dict[str, Any] = {"__module__": draw(st.one_of(identifiers, st.just("builtins")))}
    behaviour = draw(st.one_of(st.none(), behaviours))
    if behaviour is not None:
        hostile = _Hostile(behaviour, draw(st.one_of(any_text, huge_text)))
        namespace["__str__"] = lambda self: hostile._act()
        namespace["__repr__"] = lambda self: hostile._act()
    try:
        return type(draw(identifiers), (base,), namespace)
    except (TypeError, ValueError):  # a name the interpreter refuses
        return type("Generated", (base,), namespace)


@st.composite
def exceptions(draw: st.DrawFn, depth: int = 2) -> BaseException:
    cls = draw(exception_classes())
    exc = cls(*draw(st.lists(arguments, max_size=3)))
    if draw(st.booleans()):
        exc.__notes__ = draw(  # type: ignore[attr-defined]
            st.one_of(st.lists(st.one_of(any_text, arguments), max_size=4), arguments)
        )
    if depth > 0:
        if draw(st.booleans()):
            exc.__cause__ = draw(exceptions(depth - 1))
        if draw(st.booleans()):
            exc.__context__ = draw(exceptions(depth - 1))
            exc.__suppress_context__ = draw(st.booleans())
        if draw(st.booleans()):  # a cycle back to this exception
            tail: BaseException = exc
            while tail.__cause__ is not None and tail.__cause__ is not exc:
                tail = tail.__cause__
            tail.__context__ = exc
        if HAS_GROUPS and draw(st.integers(0, 4)) == 0:
            members = draw(st.lists(exceptions(depth - 1), min_size=1, max_size=4))
            exc = GROUP(draw(any_text), members)
    length = draw(st.integers(0, 3))
    if length == 3:  # now and then, a very long chain
        exc.__cause__ = long_chain(draw(st.integers(1, 3000)))
    return exc


def with_traceback(exc: BaseException, depth: int) -> tuple[type[BaseException], TracebackType]:
    def dive(level: int) -> None:
        if level:
            dive(level - 1)
        raise exc

    try:
        dive(depth)
    except BaseException as caught:
        traceback = caught.__traceback__
        kind = type(caught)
    assert traceback is not None
    return kind, traceback


# Background threads left by other tests (exporters retrying with jitter, span ids) use the
# global ``random`` while an example is drawn; hypothesis takes that for our strategies' doing.
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")

HYPOTHESIS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@HYPOTHESIS
@given(exc=exceptions(), depth=st.integers(0, 120))
def test_build_record_bounds_any_exception(exc: BaseException, depth: int) -> None:
    """Whatever the exception, the record is built, bounded and valid UTF-8."""
    exc_type, tb = with_traceback(exc, depth)
    record = build_record(
        exc_type,
        exc,
        tb,
        source="thread",
        thread=ThreadFacts("worker", 1, 2),
        limits=Limits(MESSAGE_LIMIT, STACK_LIMIT),
    )
    assert_bounded_utf8(record.exception_message, MESSAGE_LIMIT)
    assert_bounded_utf8(record.exception_stacktrace, STACK_LIMIT)
    for value in record.attributes().values():
        assert isinstance(value, (str, int, float, bool))
        assert_bounded_utf8(value)


@HYPOTHESIS
@given(exc=exceptions(), depth=st.integers(0, 60))
def test_the_real_hook_survives_any_exception(otel: Otel, exc: BaseException, depth: int) -> None:
    """A real thread dies of a generated exception: one bounded report, the previous hook once."""
    otel.spans_exporter.clear()
    otel.logs_exporter.clear()
    before = otel.total()
    with harness(
        otel, max_message_length=MESSAGE_LIMIT, max_stacktrace_length=STACK_LIMIT
    ) as state:
        state.crash(exc, depth)
        assert state.previous_calls == [exc]
        assert otel.total() == before + 1
        assert len(otel.spans()) == 1
        assert len(otel.logs()) == 1
        assert len(state.events) == 1
        [log] = otel.logs()
        assert_bounded_utf8(log.body, MESSAGE_LIMIT)
        for value in (log.attributes or {}).values():
            assert_bounded_utf8(value, max(MESSAGE_LIMIT, STACK_LIMIT))
        for value in state.events[0].values():
            assert isinstance(value, (str, int, float, bool))


@contextmanager
def hooked(otel: Otel, attribute: str) -> Iterator[list[Any]]:
    """Install threadcrash on ``sys.<attribute>``, chaining to a recorder set before it."""
    received: list[Any] = []
    setattr(sys, attribute, lambda *args: received.append(args))
    threadcrash.instrument(
        rate_limit=0,
        max_message_length=MESSAGE_LIMIT,
        max_stacktrace_length=STACK_LIMIT,
        **otel.providers,
    )
    try:
        yield received
    finally:
        threadcrash.uninstrument()


def assert_one_report_bounded(otel: Otel, before: int) -> None:
    assert otel.total() == before + 1
    [log] = otel.logs()
    assert_bounded_utf8(log.body, MESSAGE_LIMIT)
    for value in (log.attributes or {}).values():
        assert isinstance(value, (str, int, float, bool))
        assert_bounded_utf8(value, max(MESSAGE_LIMIT, STACK_LIMIT))


@HYPOTHESIS
@given(exc=exceptions())
def test_the_unraisable_hook_survives_any_exception(otel: Otel, exc: BaseException) -> None:
    """A ``__del__`` that raises a generated exception: one bounded report, chained once."""
    otel.logs_exporter.clear()
    before = otel.total()

    class Doomed:
        def __del__(self) -> None:
            raise exc

        def __repr__(self) -> str:
            raise RuntimeError("no repr for the dying object either")

    with hooked(otel, "unraisablehook") as received:
        doomed = Doomed()
        del doomed
        assert len(received) == 1
        assert received[0][0].exc_value is exc
        assert_one_report_bounded(otel, before)


@HYPOTHESIS
@given(exc=exceptions(), depth=st.integers(0, 60))
def test_the_main_thread_hook_survives_any_exception(
    otel: Otel, exc: BaseException, depth: int
) -> None:
    """``sys.excepthook`` given a generated exception: one bounded report, chained once."""
    otel.logs_exporter.clear()
    before = otel.total()
    exc_type, tb = with_traceback(exc, depth)
    with hooked(otel, "excepthook") as received:
        sys.excepthook(exc_type, exc, tb)
        assert received == [(exc_type, exc, tb)]
        assert_one_report_bounded(otel, before)
