"""Crash groups in the counter: ``threadcrash.fingerprint`` is a label, bounded, and exact."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import pytest

import threadcrash
from tests.helpers import run_thread
from tests.otel import Otel
from threadcrash import _settings
from threadcrash._emit import (
    COUNTER_ATTRIBUTES,
    COUNTER_NAME,
    OTHER_ROLE,
    SUPPRESSED_ATTRIBUTES,
    SUPPRESSED_NAME,
)
from threadcrash._settings import ConfigurationWarning

FINGERPRINT = "threadcrash.fingerprint"


def parse_order() -> None:
    raise ValueError("bad order")


def parse_invoice() -> None:
    raise ValueError("bad invoice")


def parse_refund() -> None:
    raise ValueError("bad refund")


def by_group(otel: Otel) -> dict[tuple[str, str], int]:
    """Counter value per (error.type, fingerprint)."""
    result: dict[tuple[str, str], int] = {}
    for key, value in otel.counts().items():
        attributes = dict(key)
        group = (str(attributes["error.type"]), str(attributes[FINGERPRINT]))
        result[group] = result.get(group, 0) + value
    return result


def span_fingerprints(otel: Otel) -> dict[str, str]:
    """Fingerprint of each crash span, by the function that raised."""
    attributes = [dict(span.attributes or {}) for span in otel.spans()]
    return {str(a["code.function.name"]): str(a[FINGERPRINT]) for a in attributes}


def crash_together(targets: list[Any]) -> None:
    """One real thread per target, all crashing at once (bounded wait)."""
    barrier = threading.Barrier(len(targets), timeout=20)

    def run(target: Any) -> None:
        barrier.wait()
        target()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)


def test_the_crash_counter_says_which_group_and_its_exemplar_points_at_the_span(
    otel: Otel,
) -> None:
    """The counter's fingerprint is the span's and the log's; its exemplar is that span."""
    threadcrash.instrument(chain=False, **otel.providers)
    run_thread(parse_order)
    [span] = otel.spans()
    [log] = otel.logs()
    assert span.attributes is not None
    assert log.attributes is not None
    fingerprint = span.attributes[FINGERPRINT]
    assert log.attributes[FINGERPRINT] == fingerprint
    # One collection only: the SDK hands each exemplar out once.
    data = otel.reader.get_metrics_data()
    assert data is not None
    points = [
        point
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == COUNTER_NAME
        for point in metric.data.data_points
    ]
    [point] = points
    assert point.attributes is not None
    assert point.attributes[FINGERPRINT] == fingerprint
    assert point.attributes["error.type"] == "ValueError"
    assert point.value == 1  # type: ignore[union-attr]
    [exemplar] = point.exemplars
    assert span.context is not None
    assert (exemplar.trace_id, exemplar.span_id) == (span.context.trace_id, span.context.span_id)


def test_a_new_bug_with_an_old_exception_type_is_a_new_group(otel: Otel) -> None:
    """Two code paths raising ValueError are two series of one error.type, counted apart."""
    threadcrash.instrument(chain=False, **otel.providers)
    for target in (parse_order, parse_invoice, parse_order):
        run_thread(target)
    fingerprints = span_fingerprints(otel)
    assert fingerprints["parse_order"] != fingerprints["parse_invoice"]
    assert by_group(otel) == {
        ("ValueError", fingerprints["parse_order"]): 2,
        ("ValueError", fingerprints["parse_invoice"]): 1,
    }


def test_past_max_fingerprints_new_groups_are_counted_as_other(otel: Otel) -> None:
    """With ``max_fingerprints=2`` a third group counts as ``other``; known groups keep theirs."""
    threadcrash.instrument(max_fingerprints=2, chain=False, **otel.providers)
    for target in (parse_order, parse_invoice, parse_refund, parse_order, parse_refund):
        run_thread(target)
    fingerprints = span_fingerprints(otel)
    assert by_group(otel) == {
        ("ValueError", fingerprints["parse_order"]): 2,
        ("ValueError", fingerprints["parse_invoice"]): 1,
        ("ValueError", OTHER_ROLE): 2,
    }
    # Only the counter's label is capped: the span still names the group.
    assert fingerprints["parse_refund"] != OTHER_ROLE


def test_max_fingerprints_zero_counts_every_crash_as_other(otel: Otel) -> None:
    """``max_fingerprints=0`` keeps the label but never a hash: every crash is ``other``."""
    threadcrash.instrument(max_fingerprints=0, chain=False, **otel.providers)
    run_thread(parse_order)
    run_thread(parse_invoice)
    assert by_group(otel) == {("ValueError", OTHER_ROLE): 2}


def test_the_fingerprint_cap_holds_when_many_threads_race_for_the_last_slots(
    otel: Otel,
) -> None:
    """40 threads crashing at once with 40 new groups: exactly 5 get a label, 35 are ``other``."""
    threadcrash.instrument(max_fingerprints=5, chain=False, **otel.providers)
    kinds = [type(f"Racing{index}", (Exception,), {}) for index in range(40)]

    def raiser(kind: type[Exception]) -> Any:
        def crash() -> None:
            raise kind

        return crash

    crash_together([raiser(kind) for kind in kinds])
    groups = by_group(otel)
    kept = {fingerprint for (_, fingerprint) in groups if fingerprint != OTHER_ROLE}
    assert len(kept) == 5
    assert sum(value for (_, f), value in groups.items() if f == OTHER_ROLE) == 35
    assert sum(groups.values()) == 40


def test_storm_control_never_thins_the_count_of_a_group(otel: Otel) -> None:
    """Under a rate limit, 30 + 3 crashes of two groups count 30 and 3; only 4 spans are made."""
    threadcrash.instrument(burst=2, rate_limit=0.001, chain=False, **otel.providers)
    crash_together([parse_order] * 30)
    crash_together([parse_invoice] * 3)
    fingerprints = span_fingerprints(otel)
    assert len(otel.spans()) == 4
    assert by_group(otel) == {
        ("ValueError", fingerprints["parse_order"]): 30,
        ("ValueError", fingerprints["parse_invoice"]): 3,
    }


def test_the_counters_attributes_are_the_names_the_dashboard_is_built_from(otel: Otel) -> None:
    """The keys on both counters are exactly the constants the dashboard generator reads."""
    threadcrash.instrument(burst=1, rate_limit=0.001, chain=False, **otel.providers)
    run_thread(parse_order, name="worker-1")
    run_thread(parse_order, name="worker-2")  # held back by storm control: suppressed
    [(crashes, count)] = otel.counts(COUNTER_NAME).items()
    [(suppressed, held)] = otel.counts(SUPPRESSED_NAME).items()
    assert (count, held) == (2, 1)
    assert sorted(dict(crashes)) == sorted(COUNTER_ATTRIBUTES)
    assert sorted(dict(suppressed)) == sorted(SUPPRESSED_ATTRIBUTES)


def test_max_fingerprints_comes_from_the_environment() -> None:
    """``THREADCRASH_MAX_FINGERPRINTS=7`` sets the cap; the default is 100."""
    assert _settings.load({}, {}).max_fingerprints == 100
    assert _settings.load({}, {"THREADCRASH_MAX_FINGERPRINTS": " 7 "}).max_fingerprints == 7
    assert _settings.load({"max_fingerprints": 3}, {}).max_fingerprints == 3


@pytest.mark.parametrize("value", ["-1", "lots", "10001", "2.5"])
def test_a_bad_max_fingerprints_warns_once_and_keeps_100(value: str) -> None:
    """A value that is not a whole number from 0 to 10000 warns, naming the variable; then 100."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = _settings.load({}, {"THREADCRASH_MAX_FINGERPRINTS": value})
    assert settings.max_fingerprints == 100
    ours = [item for item in caught if issubclass(item.category, ConfigurationWarning)]
    assert len(ours) == 1
    assert "THREADCRASH_MAX_FINGERPRINTS" in str(ours[0].message)
