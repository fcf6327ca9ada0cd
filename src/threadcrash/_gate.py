"""Storm control: a token bucket per fingerprint in front of logs, spans and structlog events.

The counter never passes through here. What is held back is counted by the emitter and told
once in a while as a summary: with the next report of that fingerprint the bucket lets
through, or, when it lets none through for ``summary_interval`` seconds, with the next crash
of that fingerprint; also when its bucket is evicted and at ``uninstrument()``. There is no
timer thread: a summary only ever rides on a call that is already happening.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

MAX_FINGERPRINTS = 1024
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
        return f"{self.suppressed} {plural} like this suppressed in the last {self.seconds:.0f} s"


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

    Holds only strings and numbers. :meth:`admit` costs a lock, a dict lookup and some
    arithmetic: about a microsecond.
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
        self._lock = threading.Lock()

    def admit(
        self, fingerprint: str, exception_type: str, source: str
    ) -> tuple[bool, tuple[Summary, ...]]:
        """Whether this crash may be reported, and any summaries that are due now."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(fingerprint)
            if bucket is None:
                due = NO_SUMMARIES
                if len(self._buckets) >= self._capacity:
                    old_fingerprint, old = self._buckets.popitem(last=False)
                    if old.suppressed:
                        due = (old.summary(old_fingerprint, now),)
                self._buckets[fingerprint] = _Bucket(self._burst - 1, now, exception_type, source)
                return True, due
            self._buckets.move_to_end(fingerprint)
            tokens = bucket.tokens + (now - bucket.updated) * self._rate
            bucket.tokens = tokens if tokens < self._burst else self._burst
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                if bucket.suppressed:
                    return True, (bucket.summary(fingerprint, now),)
                return True, NO_SUMMARIES
            if not bucket.suppressed:
                bucket.since = now
            bucket.suppressed += 1
            if now - bucket.since >= self._interval:
                return False, (bucket.summary(fingerprint, now),)
            return False, NO_SUMMARIES

    def drain(self) -> list[Summary]:
        """Every pending summary, for the last word at ``uninstrument()``."""
        now = self._clock()
        with self._lock:
            return [
                bucket.summary(fingerprint, now)
                for fingerprint, bucket in self._buckets.items()
                if bucket.suppressed
            ]

    def __len__(self) -> int:
        return len(self._buckets)
