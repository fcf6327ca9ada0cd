"""The settings auto-configuration reads: exporters and OTLP, one typed group per signal.

The rows of the settings table are derived from these groups (``<signal>_exporter``,
``otlp_<name>`` for all signals, ``otlp_<signal>_<name>`` for one), so each is declared once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ._parse import (
    Option,
    float_between,
    parse_compression,
    parse_endpoint,
    parse_names,
    parse_pairs,
    parse_protocol,
)

SIGNALS = ("traces", "metrics", "logs")


def _otlp(parse: Any, doc: str, signal_doc: str, shown: str, signal_shown: str) -> Any:
    """An OTLP field: its parser, and its description and shown default, general and per signal."""
    return field(default=None, metadata={"row": (parse, doc, signal_doc, shown, signal_shown)})


_GENERAL = "the general one"


@dataclass(frozen=True)
class Otlp:
    """OTLP exporter settings, for every signal or for one; None: not set."""

    endpoint: str | None = _otlp(
        parse_endpoint,
        "OTLP endpoint; over HTTP, `/v1/<signal>` is appended",
        "OTLP endpoint for {signal} (the full URL over HTTP)",
        "none (the SDK's `http://localhost:4318`)",
        "none",
    )
    protocol: str | None = _otlp(
        parse_protocol,
        "OTLP protocol, `http/protobuf` or `grpc` (the `grpc` extra)",
        "OTLP protocol for {signal}",
        "`http/protobuf`, or `grpc` when only gRPC is installed",
        _GENERAL,
    )
    headers: tuple[tuple[str, str], ...] | None = _otlp(
        parse_pairs,
        "Headers of every OTLP request, `key=value,key=value`",
        "Headers of every OTLP request for {signal}, `key=value,key=value`",
        "none",
        _GENERAL,
    )
    timeout: float | None = _otlp(
        float_between(0.001, 600.0),
        "Seconds per OTLP export (seconds, as the Python SDK reads it)",
        "Seconds per OTLP export of {signal} (seconds, as the Python SDK reads it)",
        "10",
        _GENERAL,
    )
    compression: str | None = _otlp(
        parse_compression,
        "Compression of OTLP requests: `gzip`, `deflate` (HTTP only), `none`",
        "Compression of OTLP requests for {signal}: `gzip`, `deflate` (HTTP only), `none`",
        "none",
        _GENERAL,
    )


@dataclass(frozen=True)
class Export:
    """What auto-configuration reads for one signal: its exporters and its OTLP settings."""

    signal: str
    exporter: tuple[str, ...] | None = None  # None: not set (OTLP if an endpoint is set)
    otlp: Otlp = Otlp()  # this signal's own
    general: Otlp = Otlp()  # for every signal

    @property
    def endpoint(self) -> str | None:
        """The endpoint given for this signal, else the general one."""
        return self.otlp.endpoint or self.general.endpoint

    @property
    def protocol(self) -> str | None:
        """The protocol asked for this signal, else the general one."""
        return self.otlp.protocol or self.general.protocol

    @property
    def protocol_variable(self) -> str:
        """The variable :attr:`protocol` was read from, for a warning."""
        if self.otlp.protocol:
            return f"OTEL_EXPORTER_OTLP_{self.signal.upper()}_PROTOCOL"
        return "OTEL_EXPORTER_OTLP_PROTOCOL"

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """The headers for this signal, else the general ones."""
        given = self.otlp.headers if self.otlp.headers is not None else self.general.headers
        return given or ()

    @property
    def timeout(self) -> float | None:
        """The timeout for this signal, else the general one."""
        return self.otlp.timeout if self.otlp.timeout is not None else self.general.timeout

    @property
    def compression(self) -> str:
        """The compression for this signal, else the general one, else ``none``."""
        return self.otlp.compression or self.general.compression or "none"


def _keyword(signal: str, name: str) -> str:
    return f"otlp_{signal}_{name}" if signal else f"otlp_{name}"


def _variable(signal: str, name: str) -> str:
    middle = f"_{signal.upper()}" if signal else ""
    return f"OTEL_EXPORTER_OTLP{middle}_{name.upper()}"


def _rows() -> tuple[Option[Any], ...]:
    exporters = tuple(
        Option(
            f"{signal}_exporter",
            None,
            None,
            parse_names,
            f"Exporters of the {signal} threadcrash builds a provider for: `otlp`, `console`, "
            "`none`, or any name of an installed exporter entry point.",
            otel_env=f"OTEL_{signal.upper()}_EXPORTER",
            shown_default=f"`otlp` when an OTLP endpoint for {signal} is set, else none",
        )
        for signal in SIGNALS
    )
    otlp = []
    for signal in ("", *SIGNALS):
        for item in fields(Otlp):
            parse, doc, signal_doc, shown, signal_shown = item.metadata["row"]
            otlp.append(
                Option(
                    _keyword(signal, item.name),
                    None,
                    None,
                    parse,
                    signal_doc.format(signal=signal) if signal else doc,
                    otel_env=_variable(signal, item.name),
                    shown_default=signal_shown if signal else shown,
                )
            )
    return (*exporters, *otlp)


ROWS = _rows()
DEFAULT = tuple(Export(signal) for signal in SIGNALS)


def exports(values: Mapping[str, Any]) -> tuple[Export, ...]:
    """The group of each signal, from the resolved values of :data:`ROWS` by keyword."""

    def otlp(signal: str) -> Otlp:
        return Otlp(**{item.name: values[_keyword(signal, item.name)] for item in fields(Otlp)})

    general = otlp("")
    return tuple(
        Export(signal, values[f"{signal}_exporter"], otlp(signal), general) for signal in SIGNALS
    )


def keywords(groups: tuple[Export, ...]) -> dict[str, Any]:
    """The keyword arguments that give these groups back: the inverse of :func:`exports`."""
    values: dict[str, Any] = {}
    for group in groups:
        values[f"{group.signal}_exporter"] = group.exporter
        for item in fields(Otlp):
            values[_keyword(group.signal, item.name)] = getattr(group.otlp, item.name)
            values[_keyword("", item.name)] = getattr(group.general, item.name)
    return values
