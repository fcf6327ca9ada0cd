"""The Grafana dashboard as code: writes deploy/grafana/dashboards/threadcrash.json.

Built with Grafana's own typed builders (the Foundation SDK, PyPI `grafana-foundation-sdk`, a
development dependency only) from the library's own metric and attribute names, so a renamed
counter or label cannot leave the dashboard behind. Regenerate after a change:

    python -m tests.deploy.grafana_dashboard

`tests/deploy/test_deploy_dashboard_code.py` regenerates it and fails on any difference.
"""

from __future__ import annotations

import json
import sys
import urllib.parse

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus as prometheus_builders
from grafana_foundation_sdk.builders import stat, table, text, timeseries
from grafana_foundation_sdk.cog import builder as cog_builder
from grafana_foundation_sdk.cog import variants as cog_variants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    Dashboard,
    DashboardCursorSync,
    DashboardLink,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    GridPos,
    Panel,
    Threshold,
    ThresholdsMode,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat
from grafana_foundation_sdk.models.text import TextMode

from tests.deploy.deploy_helpers import DASHBOARD_FILE, JAEGER_UID, PROMETHEUS_UID
from threadcrash._emit import (
    COUNTER_ATTRIBUTES,
    COUNTER_NAME,
    OTHER_ROLE,
    SUPPRESSED_ATTRIBUTES,
    SUPPRESSED_NAME,
)

PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)
JAEGER = DataSourceRef(type_val="jaeger", uid=JAEGER_UID)


def prometheus_counter(name: str) -> str:
    """A counter's name in Prometheus, as OpenTelemetry's exporters write it.

    Dots become underscores and a counter ends in `_total`; a unit in braces (`{crash}`) is an
    annotation and adds no suffix.
    """
    return name.replace(".", "_") + "_total"


def label(attribute: str) -> str:
    """The Prometheus label of one of the counters' attributes (refuses any other name)."""
    if attribute not in COUNTER_ATTRIBUTES + SUPPRESSED_ATTRIBUTES:
        raise ValueError(f"{attribute!r} is not an attribute of threadcrash's counters")
    return attribute.replace(".", "_")


CRASHES = prometheus_counter(COUNTER_NAME)
SUPPRESSED = prometheus_counter(SUPPRESSED_NAME)
ERROR_TYPE = label("error.type")
SOURCE = label("threadcrash.source")
ROLE = label("threadcrash.thread.role")
FINGERPRINT_ATTRIBUTE = "threadcrash.fingerprint"
FINGERPRINT = label(FINGERPRINT_ATTRIBUTE)
SERVICE = "service_name"  # resource attributes, made labels by the collector or the reader
ENVIRONMENT = "deployment_environment_name"
SELECTED = f'{ENVIRONMENT}=~"$environment", {SERVICE}=~"$service"'
GROUP = (SERVICE, FINGERPRINT, ERROR_TYPE, SOURCE)  # one row of the crash groups table
# The table's columns: query label or value -> header, in this order.
GROUP_COLUMNS = {
    FINGERPRINT: "fingerprint",
    ERROR_TYPE: "exception type",
    SOURCE: "source",
    SERVICE: "service",
    "Value #B": "first seen",
    "Value #C": "last seen",
    "Value #A": "crashes in range",
}


def selector(metric: str) -> str:
    """The metric, filtered on the dashboard's $environment and $service."""
    return f"{metric}{{{SELECTED}}}"


def crashes_in_range(series: str, window: str = "$__range") -> str:
    """Increase over the window, counting a series born inside it from zero (its first crash)."""
    return (
        f"last_over_time({series}[{window}]) - "
        f"({series} offset {window} or last_over_time({series}[{window}]) * 0)"
    )


def by(*labels: str) -> str:
    return ", ".join(labels)


def jaeger_traces_of_the_group() -> DashboardLink:
    """A link from a fingerprint cell to Grafana's Explore, searching Jaeger for that group."""
    service, fingerprint = "@SERVICE@", "@FINGERPRINT@"
    panes = {
        "crashes": {
            "datasource": JAEGER_UID,
            "queries": [
                {
                    "refId": "A",
                    "datasource": {"type": "jaeger", "uid": JAEGER_UID},
                    "queryType": "search",
                    "service": service,
                    "tags": f"{FINGERPRINT_ATTRIBUTE}={fingerprint}",
                    "limit": 20,
                }
            ],
            "range": {"from": "@FROM@", "to": "@TO@"},
        }
    }
    query = urllib.parse.urlencode(
        {"schemaVersion": 1, "panes": json.dumps(panes, separators=(",", ":"))}
    )
    # Grafana fills these in per row; the rest of the URL stays percent-encoded.
    for placeholder, variable in (
        (service, f"${{__data.fields.{SERVICE}}}"),
        (fingerprint, "${__value.raw}"),
        ("@FROM@", "${__from}"),
        ("@TO@", "${__to}"),
    ):
        query = query.replace(urllib.parse.quote(placeholder), variable)
    return DashboardLink(
        title=f"Traces of this crash group in Jaeger ({FINGERPRINT_ATTRIBUTE})",
        url=f"/explore?{query}",
    )


class JaegerSearch(cog_variants.Dataquery):
    """A search of Grafana's Jaeger datasource (the SDK has no builder for it)."""

    def __init__(self, service: str, tags: str, limit: int) -> None:
        self.service = service
        self.tags = tags
        self.limit = limit

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": {"type": "jaeger", "uid": JAEGER_UID},
            "refId": "A",
            "queryType": "search",
            "service": self.service,
            "tags": self.tags,
            "limit": self.limit,
        }


class JaegerSearchBuilder(cog_builder.Builder[cog_variants.Dataquery]):
    def __init__(self, service: str, tags: str, limit: int) -> None:
        self._query = JaegerSearch(service, tags, limit)

    def build(self) -> cog_variants.Dataquery:
        return self._query


def promql(expr: str, ref_id: str = "A", legend: str = "__auto") -> prometheus_builders.Dataquery:
    return (
        prometheus_builders.Dataquery()
        .datasource(PROMETHEUS)
        .ref_id(ref_id)
        .expr(expr)
        .legend_format(legend)
    )


def instant(
    expr: str, ref_id: str = "A", table_format: bool = False
) -> prometheus_builders.Dataquery:
    query = promql(expr, ref_id).instant().exemplar(False)
    return query.format(PromQueryFormat.TABLE if table_format else PromQueryFormat.TIME_SERIES)


def red_when_any() -> dashboard_builders.ThresholdsConfig:
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(color="green", value=None), Threshold(color="red", value=1)])
    )


def stat_panel(title: str, description: str, expr: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .with_target(instant(expr))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .color_mode(common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE)
        .unit("short")
        .decimals(0)
        .no_value("0")
        .thresholds(red_when_any())
    )


def rate_panel(
    title: str, description: str, expr: str, legend: str, exemplars: bool = False
) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .with_target(promql(expr, legend=legend).range().exemplar(exemplars))
        .unit("short")
        .min(0)
        .axis_label("crashes / s")
        .fill_opacity(10)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .show_legend(True)
            .calcs(["max", "lastNotNull"])
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )


def crash_groups_table() -> table.Panel:
    """One row per crash group: the on-call's first question, "is this a new bug?"."""
    crashes = selector(CRASHES)
    group = by(*GROUP)
    count = f"sum by ({group}) ({crashes_in_range(crashes)})"
    # Subqueries step at $__interval (never finer than the scrape interval in Grafana).
    first_seen = (
        f"min by ({group}) (min_over_time(timestamp({crashes})[$__range:$__interval])) * 1000"
    )
    rose = f"({crashes} - ({crashes} offset $__interval or {crashes} * 0)) > 0"
    last_seen = f"max by ({group}) (max_over_time(timestamp({rose})[$__range:$__interval])) * 1000"
    when = [
        DynamicConfigValue(id_val="unit", value="dateTimeAsIso"),
        DynamicConfigValue(id_val="custom.width", value=190),
    ]
    return (
        table.Panel()
        .title("Crash groups in range (threadcrash.fingerprint)")
        .description(
            "Every crash group of the selected services, from the crash counter: exact, "
            "whatever storm control held back, and no collector needed. A group is one "
            "exception type raised from one code path (same type and functions = same "
            f"fingerprint). `{OTHER_ROLE}` gathers the groups of a process past its "
            "`max_fingerprints` (THREADCRASH_MAX_FINGERPRINTS, default 100). First and last "
            "seen are within the selected range, to the nearest query interval. Click a "
            "fingerprint for its traces in Jaeger."
        )
        .datasource(PROMETHEUS)
        .with_target(instant(count, "A", table_format=True))
        .with_target(instant(first_seen, "B", table_format=True))
        .with_target(instant(last_seen, "C", table_format=True))
        .with_transformation(DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "indexByName": {name: index for index, name in enumerate(GROUP_COLUMNS)},
                    "renameByName": GROUP_COLUMNS,
                },
            )
        )
        .override_by_name(
            GROUP_COLUMNS[FINGERPRINT],
            [
                DynamicConfigValue(id_val="links", value=[jaeger_traces_of_the_group()]),
                DynamicConfigValue(id_val="custom.width", value=170),
            ],
        )
        .override_by_name(GROUP_COLUMNS["Value #B"], when)
        .override_by_name(GROUP_COLUMNS["Value #C"], when)
        .override_by_name(
            GROUP_COLUMNS["Value #A"],
            [
                DynamicConfigValue(id_val="unit", value="short"),
                DynamicConfigValue(id_val="decimals", value=0),
            ],
        )
        .show_header(True)
        .align(common.FieldTextAlignment.AUTO)
        .inspect(False)
        .sort_by(
            [
                common_builders.TableSortByFieldState()
                .display_name(GROUP_COLUMNS["Value #C"])
                .desc(True)
            ]
        )
    )


def recent_crashes() -> table.Panel:
    """Latest error traces per selected service, straight from Jaeger."""
    return (
        table.Panel()
        .title("Recent crashes in $service (click a trace ID)")
        .description("Latest error traces of the service in Jaeger, newest first.")
        .datasource(JAEGER)
        .with_target(JaegerSearchBuilder("$service", "error=true", 20))
        .repeat("service")
        .repeat_direction("v")
        .show_header(True)
        .align(common.FieldTextAlignment.AUTO)
        .inspect(False)
    )


def read_me() -> text.Panel:
    return (
        text.Panel()
        .title("How to read this dashboard")
        .mode(TextMode.MARKDOWN)
        .content(
            "Every uncaught exception in a service using **threadcrash** counts here, exactly.\n\n"
            '* *Crash groups* answers "is this a new bug?": one row per '
            f"`{FINGERPRINT_ATTRIBUTE}` (same exception type and code path = same group), "
            "with first and last seen; click a fingerprint for its traces in Jaeger. The alert "
            "`ThreadCrashNewGroup` fires on a group a service had not reported the day before.\n"
            "* **Dots** on *Crash rate* and *Crash groups over time* are exemplars: hover one, "
            "then click **View trace in Jaeger** to open the crash span (stack trace in its "
            "`exception` event).\n"
            "* *Recent crashes* lists the latest crash traces per service: click a trace ID."
        )
    )


def variable(name: str, query: str) -> dashboard_builders.QueryVariable:
    return (
        dashboard_builders.QueryVariable(name)
        .label(name)
        .datasource(PROMETHEUS)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .all_value(".*")
        .multi(True)
        .current(VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def build() -> Dashboard:
    """The dashboard model, every panel with its id and place on the 24-column grid."""
    crashes = selector(CRASHES)
    suppressed = selector(SUPPRESSED)
    panels: list[tuple[cog_builder.Builder[Panel], GridPos]] = [
        (read_me(), GridPos(x=0, y=0, w=24, h=4)),
        (
            stat_panel(
                "Crashes counted by running processes",
                f"Sum of {COUNTER_NAME} over the processes that are up now "
                "(since each one started).",
                f"sum({crashes})",
            ),
            GridPos(x=0, y=4, w=6, h=4),
        ),
        (
            stat_panel(
                "Crashes in range",
                "Crashes during the selected time range, including the first crash of each series.",
                f"sum({crashes_in_range(crashes)})",
            ),
            GridPos(x=6, y=4, w=6, h=4),
        ),
        (
            stat_panel(
                "Crash groups in range",
                f"Distinct {FINGERPRINT_ATTRIBUTE} values with crashes in the selected range "
                f"(`{OTHER_ROLE}` counts as one).",
                f"count(sum by ({FINGERPRINT}) ({crashes_in_range(crashes)}) > 0)",
            ),
            GridPos(x=12, y=4, w=6, h=4),
        ),
        (
            stat_panel(
                "Crash reports suppressed in range",
                "Crashes whose log record and span were rate-limited (THREADCRASH_RATE_LIMIT). "
                "They are still counted in the crash panels.",
                f"sum({crashes_in_range(suppressed)})",
            ),
            GridPos(x=18, y=4, w=6, h=4),
        ),
        (crash_groups_table(), GridPos(x=0, y=8, w=24, h=9)),
        (
            rate_panel(
                "Crash rate",
                "All crashes of the selected services. Dots are exemplars linking to the crash "
                "trace.",
                f"sum(rate({crashes}[$__rate_interval]))",
                "crashes",
                exemplars=True,
            ),
            GridPos(x=0, y=17, w=12, h=8),
        ),
        (
            rate_panel(
                "Crash groups over time",
                "Crashes per fingerprint, from the crash counter. Dots are exemplars linking to "
                "a trace.",
                f"sum by ({FINGERPRINT}, {ERROR_TYPE}) (rate({crashes}[$__rate_interval]))",
                f"{{{{{ERROR_TYPE}}}}} {{{{{FINGERPRINT}}}}}",
                exemplars=True,
            ),
            GridPos(x=12, y=17, w=12, h=8),
        ),
        (
            rate_panel(
                "Crash rate per service",
                "Every service of the selected environment.",
                f'sum by ({SERVICE}) (rate({CRASHES}{{{ENVIRONMENT}=~"$environment"}}'
                "[$__rate_interval]))",
                f"{{{{{SERVICE}}}}}",
            ),
            GridPos(x=0, y=25, w=6, h=8),
        ),
        (
            rate_panel(
                "Crash rate per error.type",
                "error.type: the exception class, module-qualified unless builtin.",
                f"sum by ({ERROR_TYPE}) (rate({crashes}[$__rate_interval]))",
                f"{{{{{ERROR_TYPE}}}}}",
            ),
            GridPos(x=6, y=25, w=6, h=8),
        ),
        (
            rate_panel(
                "Crash rate per threadcrash.source",
                "thread, main, unraisable, asyncio, fatal, future or process.",
                f"sum by ({SOURCE}) (rate({crashes}[$__rate_interval]))",
                f"{{{{{SOURCE}}}}}",
            ),
            GridPos(x=12, y=25, w=6, h=8),
        ),
        (
            rate_panel(
                "Crash rate per thread role",
                "Thread names with digits normalised (Thread-N (worker)).",
                f"sum by ({ROLE}) (rate({crashes}[$__rate_interval]))",
                f"{{{{{ROLE}}}}}",
            ),
            GridPos(x=18, y=25, w=6, h=8),
        ),
        (
            rate_panel(
                "Suppressed crash reports (rate-limited)",
                f"{SUPPRESSED_NAME}: crashes counted but not logged/traced because of the "
                "per-fingerprint rate limit (THREADCRASH_RATE_LIMIT, THREADCRASH_BURST).",
                f"sum by ({ERROR_TYPE}, {SOURCE}) (rate({suppressed}[$__rate_interval]))",
                f"{{{{{ERROR_TYPE}}}}} ({{{{{SOURCE}}}}})",
            ),
            GridPos(x=0, y=33, w=24, h=7),
        ),
        (recent_crashes(), GridPos(x=0, y=40, w=24, h=9)),
    ]
    dashboard = (
        dashboard_builders.Dashboard("threadcrash: thread crashes")
        .uid("threadcrash")
        .description(
            "Uncaught exceptions in threads, main, unraisable, asyncio, futures and child "
            "processes, as reported by threadcrash."
        )
        .tags(["threadcrash", "opentelemetry"])
        .timezone("browser")
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("10s")
        .time("now-30m", "now")
        .annotation(
            # Grafana's own "Annotations & Alerts" (alert state changes on the graphs).
            dashboard_builders.AnnotationQuery()
            .name("Annotations & Alerts")
            .datasource(DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .type("dashboard")
            .built_in(1)
            .enable(True)
            .hide(True)
            .icon_color("rgba(0, 211, 255, 1)")
        )
        .with_variable(
            variable("environment", f"label_values({CRASHES}, {ENVIRONMENT})"),
        )
        .with_variable(
            variable(
                "service",
                f'label_values({CRASHES}{{{ENVIRONMENT}=~"$environment"}}, {SERVICE})',
            ),
        )
    )
    for builder, _ in panels:
        dashboard.with_panel(builder)
    model = dashboard.build()
    assert model.panels is not None
    for panel_id, (panel, (_, grid)) in enumerate(zip(model.panels, panels, strict=True), start=1):
        panel.id_val = panel_id
        panel.grid_pos = grid
    return model


def render() -> str:
    """The dashboard JSON as committed: two-space indent, a final newline."""
    return json.dumps(build(), cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Write the dashboard file."""
    DASHBOARD_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {DASHBOARD_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
