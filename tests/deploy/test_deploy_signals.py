"""What the collector config and the dashboard assume about the library's signals, checked on it.

The collector keeps only spans with a `threadcrash.fingerprint` attribute and groups them by
span attributes (spanmetrics dimensions); Grafana follows the counter's exemplar to the trace.
These tests crash a real thread through `threadcrash.instrument` with SDK providers and check
that the signals really carry what deploy/ relies on.
"""

from __future__ import annotations

import threading

import threadcrash
from tests.deploy.deploy_helpers import (
    COLLECTOR_CONFIG,
    CRASHES,
    METRIC_LABELS,
    RESOURCE_LABELS,
    load_yaml,
)
from tests.otel import Otel


def _crash_one_thread() -> None:
    def work() -> None:
        raise ValueError("boom")

    thread = threading.Thread(target=work, name="worker-7")
    thread.start()
    thread.join(timeout=10)


def test_crash_span_has_every_attribute_the_collector_uses(otel: Otel) -> None:
    """The crash span carries threadcrash.fingerprint (filter) and each spanmetrics dimension."""
    threadcrash.instrument(**otel.providers)
    _crash_one_thread()
    [span] = otel.spans()
    attributes = dict(span.attributes or {})
    config = load_yaml(COLLECTOR_CONFIG)
    assert config["processors"]["filter/crash_spans"]["traces"]["span"] == [
        'attributes["threadcrash.fingerprint"] == nil'
    ]
    assert attributes["threadcrash.fingerprint"]
    dimensions = [d["name"] for d in config["connectors"]["spanmetrics"]["dimensions"]]
    # deployment.environment.name is a resource attribute (OTEL_RESOURCE_ATTRIBUTES), not a
    # span attribute; the collector's resource_to_telemetry_conversion makes it a label.
    span_dimensions = [d for d in dimensions if d.replace(".", "_") not in RESOURCE_LABELS]
    assert span_dimensions == ["threadcrash.fingerprint", "exception.type", "threadcrash.source"]
    for dimension in span_dimensions:
        assert dimension in attributes, dimension
    assert attributes["exception.type"] == "ValueError"
    assert attributes["threadcrash.source"] == "thread"


def test_counter_attributes_are_the_dashboard_labels(otel: Otel) -> None:
    """The counter's attribute keys, dots made underscores, are the labels the queries use."""
    threadcrash.instrument(**otel.providers)
    _crash_one_thread()
    [(key, value)] = otel.counts().items()
    assert value == 1
    labels = {name.replace(".", "_") for name, _ in key}
    assert labels == METRIC_LABELS[CRASHES] - RESOURCE_LABELS
    assert dict(key)["threadcrash.thread.role"] == "worker-N"
    [span] = otel.spans()
    assert span.attributes is not None
    assert dict(key)["threadcrash.fingerprint"] == span.attributes["threadcrash.fingerprint"]


def test_counter_exemplar_points_at_the_crash_span(otel: Otel) -> None:
    """The counter's exemplar holds the crash span's trace id: Grafana's dot opens that trace."""
    threadcrash.instrument(**otel.providers)
    _crash_one_thread()
    [span] = otel.spans()
    data = otel.reader.get_metrics_data()
    assert data is not None
    exemplars = [
        exemplar
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == "threadcrash.crashes"
        for point in metric.data.data_points
        for exemplar in point.exemplars
    ]
    assert exemplars, "no exemplar on threadcrash.crashes"
    assert span.context is not None
    assert {e.trace_id for e in exemplars} == {span.context.trace_id}
    assert {e.span_id for e in exemplars} == {span.context.span_id}
