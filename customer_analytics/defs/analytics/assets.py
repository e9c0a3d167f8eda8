"""The analytics group: segments, clusters, engagement, churn risk, trends and correlations of
a month's profiles (docs/analytics.md), each a small warehouse table with its chart.

One step computes the month's profile once in the engine, from the daily pivots by reference,
and every selected table from it; only the small results come to Python. Its charts go into
each table's metadata and, with the key tables, into `REPORT_DIR/<YYYY-MM>/index.html`.
"""

from datetime import date, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.defs.analytics.checks import CHECKS
from customer_analytics.engines import analytics, content
from customer_analytics.engines.base import Engine, LakeFiles
from customer_analytics.io_managers.warehouse import PartitionWindow, WarehouseResource
from customer_analytics.lib import charts, clusters
from customer_analytics.lib.automation import when_inputs_ready
from customer_analytics.lib.checks import check_specs, run_checks
from customer_analytics.lib.engine import ENGINE_KIND, ComputeEngine, engine_metadata
from customer_analytics.lib.landing import Lake, Reports
from customer_analytics.lib.metadata import OWNERS, stored_table
from customer_analytics.lib.partitions import content_monthly, next_month, previous_month
from customer_analytics.lib.report import write_report
from customer_analytics.rules import schemas
from customer_analytics.rules.content import CATEGORIES

TABLES = {
    "customer_segments": (
        schemas.CUSTOMER_SEGMENTS,
        "month",
        "Contracts per activity level (active days) and favourite category, with shares.",
    ),
    "customer_clusters": (
        schemas.CUSTOMER_CLUSTERS,
        "month",
        "k-means clusters of the month's contracts (share of time per category, viewing time, "
        "active days), k chosen by silhouette, each described in words.",
    ),
    "content_engagement": (
        schemas.CONTENT_ENGAGEMENT,
        "month",
        "Viewing time per category: totals, viewers, and the spread over the contracts that "
        "watch it (mean, median, standard deviation, quartiles, p95).",
    ),
    "churn_risk": (
        schemas.CHURN_RISK,
        "month",
        "Contracts at risk of leaving, with a score and its reason: silent in the month's last "
        "days after the first half, or a steep week-over-week drop.",
    ),
    "viewing_trends": (
        schemas.VIEWING_TRENDS,
        "date",
        "Seconds watched and viewers per day and category over the month.",
    ),
    "category_correlation": (
        schemas.CATEGORY_CORRELATION,
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
    searches = warehouse.connect().read(
        "customer_search_stats", window, schemas.CUSTOMER_SEARCH_STATS
    )
    churned = pc.sum(pc.equal(searches["taste"], "Churned")).as_py() or 0
    return {"search_users": searches.num_rows, "search_users_churned": churned}


def _previous_totals(engine: Engine, lake: Lake, month: date) -> dict[str, int] | None:
    days = [day for day in _month_days(previous_month(month)) if lake.stored("daily_pivot", day)]
    if not days:
        return None
    files = lake.files("daily_pivot", days, schemas.DAILY_PIVOT)
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
    selected = {key.path[-1] for key in context.selected_asset_keys}
    computed: dict[str, pa.Table] = {}
    pictures: dict[str, bytes] = {}
    extra: dict[str, dict] = {name: {} for name in selected}
    with (
        engine.open() as opened,
        opened.materialized(content.customer_content_stats(daily_pivot)) as profiles,
    ):
        customers = opened.one_row("SELECT count(*) AS n FROM p", p=profiles)["n"]
        current = {
            row["category"]: row["total_seconds"]
            for row in opened.fetch(analytics.category_totals(daily_pivot)).to_pylist()
        }
        context.log.info(f"{month:%Y-%m}: {customers:,} profiles on {opened.name}")
        if "customer_segments" in selected:
            computed["customer_segments"] = opened.fetch(analytics.customer_segments(profiles))
        if "content_engagement" in selected:
            engagement = opened.fetch(analytics.content_engagement(profiles))
            breadth = opened.fetch(analytics.taste_breadth(profiles)).to_pylist()
            computed["content_engagement"] = engagement
            pictures["viewing_time_per_category"] = charts.popularity_chart(engagement, month)
            extra["content_engagement"] = {
                "taste_breadth": dg.MetadataValue.json(
                    {
                        key: value
                        for key, value in (breadth[0] if breadth else {}).items()
                        if key != "month"
                    }
                ),
                "chart": dg.MetadataValue.md(
                    charts.markdown_image(
                        pictures["viewing_time_per_category"], "Viewing time per category"
                    )
                ),
            }
        if "customer_clusters" in selected:
            clustering = clusters.cluster_customers(opened, profiles, month)
            computed["customer_clusters"] = clustering.table
            pictures["segments_by_cluster"] = charts.segments_scatter(
                clustering.sample, clustering.table, month
            )
            extra["customer_clusters"] = {
                "k": clustering.k,
                "silhouette_by_k": dg.MetadataValue.json(
                    {str(k): round(score, 4) for k, score in clustering.silhouettes.items()}
                ),
                "chart": dg.MetadataValue.md(
                    charts.markdown_image(pictures["segments_by_cluster"], "Segmentation")
                ),
            }
        if "churn_risk" in selected:
            risk = opened.fetch(analytics.churn_risk(daily_pivot, month))
            computed["churn_risk"] = risk
            silent = pc.sum(pc.starts_with(risk["reason"], "silent")).as_py() or 0
            extra["churn_risk"] = {
                "at_risk": risk.num_rows,
                "silent": silent,
                "dropping": risk.num_rows - silent,
                **_search_side(warehouse, month),
            }
        if "viewing_trends" in selected:
            trends = opened.fetch(analytics.viewing_trends(daily_pivot))
            computed["viewing_trends"] = trends
            previous = _previous_totals(opened, lake, month)
            pictures["daily_viewing_per_category"] = charts.trend_chart(trends, month)
            extra["viewing_trends"] = {
                "month_over_month": dg.MetadataValue.json(_month_over_month(current, previous)),
                "chart": dg.MetadataValue.md(
                    charts.markdown_image(
                        pictures["daily_viewing_per_category"], "Daily viewing per category"
                    )
                ),
            }
        if "category_correlation" in selected:
            correlation = opened.fetch(analytics.category_correlation(profiles))
            computed["category_correlation"] = correlation
            pictures["correlation_of_categories"] = charts.correlation_heatmap(correlation, month)
            extra["category_correlation"] = {
                "chart": dg.MetadataValue.md(
                    charts.markdown_image(
                        pictures["correlation_of_categories"], "Correlation of categories"
                    )
                ),
            }
        engine_info = engine_metadata(opened)
    for name, table in computed.items():
        yield from run_checks(
            context,
            name,
            CHECKS[name],
            table=table,
            profiles=customers,
            totals=current,
            warehouse=warehouse.connect(),
        )
    report = write_report(
        reports.location,
        month,
        pictures,
        {
            name.replace("_", " ").capitalize(): table.slice(0, 20)
            for name, table in computed.items()
        },
    )
    context.log.info(f"Report of {month:%Y-%m}: {report}")
    for name in TABLES:
        if name not in selected:
            continue
        table = computed[name]
        yield dg.Output(
            table,
            output_name=name,
            metadata={
                "preview": _markdown_table(table),
                "report": dg.MetadataValue.path(report),
                **extra[name],
                **engine_info,
            },
        )
