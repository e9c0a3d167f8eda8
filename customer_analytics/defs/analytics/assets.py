"""The analytics group: segments, clusters, engagement, churn risk, trends and correlations of
a month's profiles (docs/analytics.md), each a small warehouse table with its chart.

One step computes the month's profile once in the engine, from the daily pivots by reference,
and every selected table from it; only the small results come to Python. Its charts go into
each table's metadata and, with the key tables, into `REPORT_DIR/<YYYY-MM>/index.html`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.defs.analytics import charts, clusters
from customer_analytics.defs.analytics import transforms as analytics
from customer_analytics.defs.analytics.checks import CHECKS, AnalyticsTableToStore
from customer_analytics.defs.analytics.report import Reports, write_report
from customer_analytics.defs.analytics.schemas import (
    CATEGORY_CORRELATION,
    CHURN_RISK,
    CONTENT_ENGAGEMENT,
    CUSTOMER_CLUSTERS,
    CUSTOMER_SEGMENTS,
    VIEWING_TRENDS,
)
from customer_analytics.engines.base import Engine, LakeFiles, Source
from customer_analytics.io_managers.warehouse import PartitionWindow, WarehouseResource
from customer_analytics.lib.automation import when_inputs_ready
from customer_analytics.lib.checks import check_specs, run_checks
from customer_analytics.lib.engine import ENGINE_KIND, ComputeEngine, engine_metadata
from customer_analytics.lib.lake import Lake
from customer_analytics.lib.metadata import OWNERS, stored_table
from customer_analytics.lib.partitions import content_monthly, next_month, previous_month
from customer_analytics.rules.tables import CUSTOMER_SEARCH_STATS, DAILY_PIVOT
from customer_analytics.rules.viewing import CATEGORIES

TABLES = {
    "customer_segments": (
        CUSTOMER_SEGMENTS,
        "month",
        "Contracts per activity level (active days) and favourite category, with shares.",
    ),
    "customer_clusters": (
        CUSTOMER_CLUSTERS,
        "month",
        "k-means clusters of the month's contracts (share of time per category, viewing time, "
        "active days), k chosen by silhouette, each described in words.",
    ),
    "content_engagement": (
        CONTENT_ENGAGEMENT,
        "month",
        "Viewing time per category: totals, viewers, and the spread over the contracts that "
        "watch it (mean, median, standard deviation, quartiles, p95).",
    ),
    "churn_risk": (
        CHURN_RISK,
        "month",
        "Contracts at risk of leaving, with a score and its reason: silent in the month's last "
        "days after the first half, or a steep week-over-week drop.",
    ),
    "viewing_trends": (
        VIEWING_TRENDS,
        "date",
        "Seconds watched and viewers per day and category over the month.",
    ),
    "category_correlation": (
        CATEGORY_CORRELATION,
        "month",
        "Pearson correlation between the categories' monthly totals across contracts.",
    ),
}
# The search side of churn comes from its own id system: counted per month, never joined.
SEARCH_MONTH = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)


def _month_days(month: date) -> list[str]:
    end = next_month(month)
    return [(month + timedelta(days)).isoformat() for days in range((end - month).days)]


def _markdown_table(table: pa.Table, limit: int = 20) -> dg.MetadataValue:
    rows = table.slice(0, limit).to_pylist()
    header = "| " + " | ".join(table.column_names) + " |"
    rule = "|" + "---|" * table.num_columns
    body = ["| " + " | ".join(_cell(value) for value in row.values()) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join([header, rule, *body]))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value).replace("|", "\\|")


def _search_side(warehouse: WarehouseResource, month: date) -> dict[str, object]:
    """The month's search users by taste: counts only, as no key links them to contracts."""
    window = PartitionWindow("month", month, next_month(month))
    searches = warehouse.connect().read("customer_search_stats", window, CUSTOMER_SEARCH_STATS)
    churned = pc.sum(pc.equal(searches["taste"], "Churned")).as_py() or 0
    return {"search_users": searches.num_rows, "search_users_churned": churned}


def _previous_totals(engine: Engine, lake: Lake, month: date) -> dict[str, int] | None:
    days = [day for day in _month_days(previous_month(month)) if lake.stored("daily_pivot", day)]
    if not days:
        return None
    files = lake.files("daily_pivot", days, DAILY_PIVOT)
    rows = engine.fetch(analytics.category_totals(files)).to_pylist()
    return {row["category"]: row["total_seconds"] for row in rows}


def _month_over_month(current: dict[str, int], previous: dict[str, int] | None) -> dict:
    return {
        category: {
            "total_seconds": current.get(category, 0),
            "previous_seconds": None if previous is None else previous.get(category, 0),
            "change": None
            if not previous or not previous.get(category)
            else (current.get(category, 0) - previous[category]) / previous[category],
        }
        for category in CATEGORIES
    }


@dataclass(frozen=True)
class MonthInputs:
    """What every table of a month is computed from, in one open engine."""

    month: date
    engine: Engine
    profiles: Source  # the month's customer_content_stats, materialized in the engine
    daily_pivot: LakeFiles
    totals: dict[str, int]  # seconds per category over the month's daily pivots
    lake: Lake
    warehouse: WarehouseResource


@dataclass(frozen=True)
class Chart:
    name: str  # of its file in the report
    title: str
    png: bytes


@dataclass(frozen=True)
class AnalyticsTable:
    """One table of the month, what it adds to its metadata, and its chart if it has one."""

    table: pa.Table
    metadata: dict = field(default_factory=dict)
    chart: Chart | None = None


def _segments(inputs: MonthInputs) -> AnalyticsTable:
    return AnalyticsTable(inputs.engine.fetch(analytics.customer_segments(inputs.profiles)))


def _clusters(inputs: MonthInputs) -> AnalyticsTable:
    clustering = clusters.cluster_customers(inputs.engine, inputs.profiles, inputs.month)
    silhouettes = {str(k): round(score, 4) for k, score in clustering.silhouettes.items()}
    return AnalyticsTable(
        clustering.table,
        {"k": clustering.k, "silhouette_by_k": dg.MetadataValue.json(silhouettes)},
        Chart(
            "segments_by_cluster",
            "Segmentation",
            charts.segments_scatter(clustering.sample, clustering.table, inputs.month),
        ),
    )


def _engagement(inputs: MonthInputs) -> AnalyticsTable:
    engagement = inputs.engine.fetch(analytics.content_engagement(inputs.profiles))
    (breadth,) = inputs.engine.fetch(analytics.taste_breadth(inputs.profiles)).to_pylist() or [{}]
    breadth.pop("month", None)
    judged = sum(breadth.values())
    shares = {f"{kind}_share": count / judged for kind, count in breadth.items()} if judged else {}
    return AnalyticsTable(
        engagement,
        {"taste_breadth": dg.MetadataValue.json({**breadth, **shares})},
        Chart(
            "viewing_time_per_category",
            "Viewing time per category",
            charts.popularity_chart(engagement, inputs.month),
        ),
    )


def _churn(inputs: MonthInputs) -> AnalyticsTable:
    risk = inputs.engine.fetch(analytics.churn_risk(inputs.daily_pivot, inputs.month))
    silent = pc.sum(pc.starts_with(risk["reason"], "silent")).as_py() or 0
    return AnalyticsTable(
        risk,
        {
            "at_risk": risk.num_rows,
            "silent": silent,
            "dropping": risk.num_rows - silent,
            **_search_side(inputs.warehouse, inputs.month),
        },
    )


def _trends(inputs: MonthInputs) -> AnalyticsTable:
    trends = inputs.engine.fetch(analytics.viewing_trends(inputs.daily_pivot))
    previous = _previous_totals(inputs.engine, inputs.lake, inputs.month)
    return AnalyticsTable(
        trends,
        {"month_over_month": dg.MetadataValue.json(_month_over_month(inputs.totals, previous))},
        Chart(
            "daily_viewing_per_category",
            "Daily viewing per category",
            charts.trend_chart(trends, inputs.month),
        ),
    )


def _correlation(inputs: MonthInputs) -> AnalyticsTable:
    correlation = inputs.engine.fetch(analytics.category_correlation(inputs.profiles))
    return AnalyticsTable(
        correlation,
        chart=Chart(
            "correlation_of_categories",
            "Correlation of categories",
            charts.correlation_heatmap(correlation, inputs.month),
        ),
    )


BUILDERS: dict[str, Callable[[MonthInputs], AnalyticsTable]] = {
    "customer_segments": _segments,
    "customer_clusters": _clusters,
    "content_engagement": _engagement,
    "churn_risk": _churn,
    "viewing_trends": _trends,
    "category_correlation": _correlation,
}


@dg.multi_asset(
    outs={
        name: dg.AssetOut(
            io_manager_key="warehouse_io_manager",
            description=description,
            metadata=stored_table(schema, partition_column),
            kinds={ENGINE_KIND, "mysql"},
            owners=OWNERS,
            group_name="analytics",
            automation_condition=when_inputs_ready,
            is_required=False,
        )
        for name, (schema, partition_column, description) in TABLES.items()
    },
    ins={"daily_pivot": dg.AssetIn()},
    deps=[
        dg.AssetDep("customer_content_stats"),
        dg.AssetDep("customer_search_stats", partition_mapping=SEARCH_MONTH),
    ],
    partitions_def=content_monthly,
    can_subset=True,
    check_specs=[spec for name, checks in CHECKS.items() for spec in check_specs(name, checks)],
)
def analytics_tables(
    context: dg.AssetExecutionContext,
    engine: ComputeEngine,
    lake: Lake,
    warehouse: WarehouseResource,
    reports: Reports,
    daily_pivot: LakeFiles,
):
    """The month's analytics, computed from one profile in the engine."""
    month = date.fromisoformat(context.partition_key)
    selected = [name for name in TABLES if dg.AssetKey(name) in context.selected_asset_keys]
    built: dict[str, AnalyticsTable] = {}
    with (
        engine.open() as opened,
        opened.materialized(analytics.monthly_profiles(daily_pivot)) as profiles,
    ):
        customers = opened.one_row("SELECT count(*) AS n FROM p", p=profiles)["n"]
        totals = opened.fetch(analytics.category_totals(daily_pivot)).to_pylist()
        context.log.info(f"{month:%Y-%m}: {customers:,} profiles on {opened.name}")
        inputs = MonthInputs(
            month,
            opened,
            profiles,
            daily_pivot,
            {row["category"]: row["total_seconds"] for row in totals},
            lake,
            warehouse,
        )
        for name in selected:
            started = time.perf_counter()
            built[name] = BUILDERS[name](inputs)
            context.log.info(
                f"{name}: {built[name].table.num_rows:,} rows "
                f"({time.perf_counter() - started:.1f} s)"
            )
        engine_info = engine_metadata(opened)
    for name, result in built.items():
        yield from run_checks(
            context,
            name,
            CHECKS[name],
            AnalyticsTableToStore(
                result.table,
                profiles=customers,
                totals=inputs.totals,
                warehouse=warehouse.connect(),
            ),
        )
    report = write_report(
        reports.location,
        month,
        {result.chart.name: result.chart.png for result in built.values() if result.chart},
        {name.replace("_", " ").capitalize(): r.table.slice(0, 20) for name, r in built.items()},
    )
    context.log.info(f"Report of {month:%Y-%m}: {report}")
    for name, result in built.items():
        chart = (
            {
                "chart": dg.MetadataValue.md(
                    charts.markdown_image(result.chart.png, result.chart.title)
                )
            }
            if result.chart
            else {}
        )
        yield dg.Output(
            result.table,
            output_name=name,
            metadata={
                "preview": _markdown_table(result.table),
                "report": dg.MetadataValue.path(report),
                **chart,
                **result.metadata,
                **engine_info,
            },
        )
