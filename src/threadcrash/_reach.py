"""Is anyone listening? A quick TCP probe, so a refused collector costs milliseconds at exit.

An OTLP exporter retries a refused connection with back-off until its timeout: right for a
collector that restarts, wasted on a process that is about to end. Only an active refusal
(nothing listens on that port) counts: a collector that accepts and stalls, or a network that
drops packets, is left to the usual bound, ``flush_timeout``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

MAX_PROBE = 0.25  # seconds for all the probes together


def address(endpoint: str) -> tuple[str, int] | None:
    """``(host, port)`` of an OTLP endpoint URL (or gRPC's bare ``host:port``); None if unclear."""
    try:
        parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    if port is None:
        port = 443 if parts.scheme.lower() == "https" else 80
    return host, port


def refused(endpoints: Iterable[str], timeout: float) -> set[str]:
    """The endpoints whose host refuses a TCP connection, probed within ``timeout`` seconds."""
    deadline = time.monotonic() + max(0.0, min(timeout, MAX_PROBE))
    found: set[str] = set()
    verdicts: dict[tuple[str, int], bool] = {}
    for endpoint in sorted(set(endpoints)):
        target = address(endpoint)
        if target is None:
            continue
        if target not in verdicts:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            verdicts[target] = _refuses(target, remaining)
        if verdicts[target]:
            found.add(endpoint)
    return found


def _refuses(target: tuple[str, int], timeout: float) -> bool:
    try:
        with socket.create_connection(target, timeout=timeout):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:  # a timeout, an unreachable network, a name that does not resolve
        return False
