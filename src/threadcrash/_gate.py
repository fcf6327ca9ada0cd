"""Storm control: a token bucket per fingerprint in front of logs, spans and structlog events.

The counter never passes through here. What is held back the reporter has the emitter count,
and it is told once in a while as a summary: with the next report of that fingerprint the
bucket lets through, or, when it lets none through for ``summary_interval`` seconds, with the
next crash of that fingerprint; and at ``uninstrument()``. There is no timer thread: a summary
only ever rides on a call that is already happening.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from . import _fork

MAX_FINGERPRINTS = 1024
OVERALL = 10  # the overall bucket: this many times the per-fingerprint rate and burst
EVICTED = "evicted"  # the summary of kinds no longer in the table
VARIOUS = "various"
NO_SUMMARIES: tuple[Summary, ...] = ()


class Summary(NamedTuple):
    """``suppressed`` crashes of one fingerprint were held back over the last ``seconds``."""

    fingerprint: str
    exception_type: str
    source: str
    suppressed: int
    seconds: float

    def text(self) -> str:
        """The sentence a human reads."""
        plural = "crash" if self.suppressed == 1 else "crashes"
        kind = "of kinds seen too rarely to track" if self.fingerprint == EVICTED else "like this"
        return f"{self.suppressed} {plural} {kind} suppressed in the last {self.seconds:.0f} s"


class _Bucket:
    __slots__ = ("exception_type", "since", "source", "suppressed", "tokens", "updated")

    def __init__(self, tokens: float, now: float, exception_type: str, source: str) -> None:
        self.tokens = tokens
        self.updated = now
        self.suppressed = 0
        self.since = now
        self.exception_type = exception_type
        self.source = source

    def summary(self, fingerprint: str, now: float) -> Summary:
        held = Summary(
            fingerprint, self.exception_type, self.source, self.suppressed, now - self.since
        )
        self.suppressed = 0
        return held


class Gate:
    """Per-fingerprint token buckets, at most ``capacity`` of them, least recently seen evicted.

    An overall bucket (``OVERALL`` times the rate and the burst) caps the reports of every kind
    together, so a bug that churns through more kinds than the table holds is limited too; the
    held-back crashes of an evicted kind are summed up under ``EVICTED``. Holds only strings and
    numbers. :meth:`admit` costs a lock, a dict lookup and some arithmetic: about a microsecond.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        summary_interval: float,
        capacity: int = MAX_FINGERPRINTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._interval = summary_interval
        self._capacity = max(capacity, 1)
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._overall: _Bucket | None = None  # made at the first crash, on the clock's time
        self._evicted = _Bucket(0.0, 0.0, VARIOUS, VARIOUS)
        self._lock = threading.Lock()
        _gates.add(self)

    def admit(
        self, fingerprint: str, exception_type: str, source: str
    ) -> tuple[bool, tuple[Summary, ...]]:
        """Whether this crash may be reported, and any summaries that are due now."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(fingerprint)
            if bucket is None:
                if len(self._buckets) >= self._capacity:
                    self._evict()
                bucket = self._buckets[fingerprint] = _Bucket(
                    self._burst, now, exception_type, source
                )
            else:
                self._buckets.move_to_end(fingerprint)
                self._refill(bucket, now, self._rate, self._burst)
            overall = self._overall
            if overall is None:
                overall = self._overall = _Bucket(self._burst * OVERALL, now, "", "")
            else:
                self._refill(overall, now, self._rate * OVERALL, self._burst * OVERALL)
            if bucket.tokens >= 1.0 and overall.tokens >= 1.0:
                bucket.tokens -= 1.0
                overall.tokens -= 1.0
                if bucket.suppressed or self._evicted.suppressed:
                    return True, self._due(bucket, fingerprint, now, everything=True)
                return True, NO_SUMMARIES
            if not bucket.suppressed:
                bucket.since = now
            bucket.suppressed += 1
            if now - bucket.since >= self._interval or (
                self._evicted.suppressed and now - self._evicted.since >= self._interval
            ):
                return False, self._due(bucket, fingerprint, now, everything=False)
            return False, NO_SUMMARIES

    @staticmethod
    def _refill(bucket: _Bucket, now: float, rate: float, burst: float) -> None:
        tokens = bucket.tokens + max(now - bucket.updated, 0.0) * rate
        bucket.tokens = tokens if tokens < burst else burst
        bucket.updated = now

    def _evict(self) -> None:
        """Drop the least recently seen kind; what it held back joins the evicted tally."""
        _, old = self._buckets.popitem(last=False)
        if old.suppressed:
            evicted = self._evicted
            if not evicted.suppressed:
                evicted.since = old.since
            evicted.suppressed += old.suppressed
            evicted.since = min(evicted.since, old.since)

    def _due(
        self, bucket: _Bucket, fingerprint: str, now: float, *, everything: bool
    ) -> tuple[Summary, ...]:
        due: list[Summary] = []
        if bucket.suppressed and (everything or now - bucket.since >= self._interval):
            due.append(bucket.summary(fingerprint, now))
        if self._evicted.suppressed and (everything or now - self._evicted.since >= self._interval):
            due.append(self._evicted.summary(EVICTED, now))
        return tuple(due)

    def drain(self) -> list[Summary]:
        """Every pending summary, for the last word at ``uninstrument()``."""
        now = self._clock()
        with self._lock:
            due = [
                bucket.summary(fingerprint, now)
                for fingerprint, bucket in self._buckets.items()
                if bucket.suppressed
            ]
            if self._evicted.suppressed:
                due.append(self._evicted.summary(EVICTED, now))
            return due

    def __len__(self) -> int:
        return len(self._buckets)


_gates: weakref.WeakSet[Gate] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A fork while another thread held a gate's lock must not leave the child's hook stuck."""
    for gate in list(_gates):
        gate._lock = threading.Lock()


_fork.in_child(_after_fork_in_child)
