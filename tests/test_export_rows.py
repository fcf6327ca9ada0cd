"""The exporter rows of the settings table: the OpenTelemetry variables, general and per signal."""

from __future__ import annotations

import dataclasses

from threadcrash import _export_settings, _parse

FIELDS = ("endpoint", "protocol", "headers", "timeout", "compression")


def test_the_export_rows_are_opentelemetrys_variables() -> None:
    """Each exporter and OTLP setting is read from the variable the OTel SDK documents."""
    rows = _export_settings._rows()
    expected = [
        (f"{s}_exporter", f"OTEL_{s.upper()}_EXPORTER") for s in ("traces", "metrics", "logs")
    ]
    expected += [(f"otlp_{name}", f"OTEL_EXPORTER_OTLP_{name.upper()}") for name in FIELDS]
    for signal in ("traces", "metrics", "logs"):
        expected += [
            (f"otlp_{signal}_{name}", f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name.upper()}")
            for name in FIELDS
        ]
    assert [(row.name, row.otel_env) for row in rows] == expected
    assert all(row.env is None and row.default is None for row in rows)


def test_each_export_row_has_its_parser_description_and_default() -> None:
    """The general and per-signal rows of one setting share a parser, not their wording."""
    rows = {row.name: row for row in _export_settings._rows()}
    exporter = rows["metrics_exporter"]
    assert exporter.parse is _parse.parse_names
    assert exporter.doc == (
        "Exporters of the metrics threadcrash builds a provider for: `otlp`, `console`, "
        "`none`, or any name of an installed exporter entry point."
    )
    assert exporter.shown_default == "`otlp` when an OTLP endpoint for metrics is set, else none"
    general, logs = rows["otlp_compression"], rows["otlp_logs_compression"]
    assert general.parse is logs.parse is _parse.parse_compression
    assert general.doc == "Compression of OTLP requests: `gzip`, `deflate` (HTTP only), `none`"
    assert (
        logs.doc == "Compression of OTLP requests for logs: `gzip`, `deflate` (HTTP only), `none`"
    )
    assert (general.shown_default, logs.shown_default) == ("none", "the general one")
    assert rows["otlp_traces_timeout"].parse("0.5") == 0.5


def test_an_otlp_field_is_unset_until_given() -> None:
    """An OTLP field defaults to None (not set) and carries its table row."""

    @dataclasses.dataclass(frozen=True)
    class Group:
        retries: int | None = _export_settings._otlp(
            int, "Retries", "Retries of {signal}", "3", "-"
        )

    (field,) = dataclasses.fields(Group)
    assert Group().retries is None
    assert field.metadata["row"] == (int, "Retries", "Retries of {signal}", "3", "-")
