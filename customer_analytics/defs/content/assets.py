"""The viewing-log chain: raw_log_content → daily_pivot → customer_content_stats."""

import dagster as dg
import pyarrow.compute as pc
import pyarrow.dataset as ds

from customer_analytics.defs.content.checks import PIVOT_CHECKS, RAW_CHECKS, STATS_CHECKS
from customer_analytics.engines import content as engine
from customer_analytics.engines.arrow_sql import one_row
from customer_analytics.io_managers.warehouse import EXPORT_CSV, WarehouseResource
from customer_analytics.lib.automation import nightly_deadline, when_inputs_ready
from customer_analytics.lib.checks import CheckThresholds, check_specs, run_checks
from customer_analytics.lib.landing import Lake, LandingZone
from customer_analytics.lib.metadata import OWNERS, column_lineage, stored_table
from customer_analytics.lib.partitions import (
    content_daily,
    content_monthly,
    partition_date,
    single_run,
)
from customer_analytics.lib.retries import network_retry, transient_retries_only
from customer_analytics.lib.staging import StagedPartitions
from customer_analytics.lib.validated_days import split_outs, validated_days, value_counts
from customer_analytics.rules import schemas
from customer_analytics.rules.content import QUARANTINE_REASONS, TOTAL_COLUMNS

PIVOT_LINEAGE = column_lineage(
    {
        "date": [("raw_log_content", "date")],
        "Contract": [("raw_log_content", "Contract")],
        **{
            column: [("raw_log_content", "TotalDuration"), ("raw_log_content", "category")]
            for column in TOTAL_COLUMNS
        },
    }
)
STATS_LINEAGE = column_lineage(
    {
        "month": [("daily_pivot", "date")],
        "Contract": [("daily_pivot", "Contract")],
        "Active": [("daily_pivot", "date")],
        **{column: [("daily_pivot", column)] for column in TOTAL_COLUMNS},
        "MostWatch": [("daily_pivot", column) for column in TOTAL_COLUMNS],
        "Taste": [("daily_pivot", column) for column in TOTAL_COLUMNS],
    }
)


@dg.multi_asset(
    outs=split_outs(
        valid=(
            "raw_log_content",
            schemas.RAW_LOG_CONTENT,
            "Valid viewing records of a day, one row per log line that passes every rule of "
            "the data contract (docs/contract.md §3).",
        ),
        quarantine=(
            "content_quarantine",
            schemas.CONTENT_QUARANTINE,
            "Rejected lines of the viewing log with the first rule they fail, their line number "
            "and their raw text.",
        ),
    ),
    partitions_def=content_daily,
    backfill_policy=single_run,
    group_name="content",
    retry_policy=network_retry,
    can_subset=True,
    check_specs=check_specs("raw_log_content", RAW_CHECKS),
)
@transient_retries_only
def raw_log_content(
    context: dg.AssetExecutionContext, landing: LandingZone, lake: Lake, thresholds: CheckThresholds
):
    """Reads each day's `log_content/YYYYMMDD.json`, validates every line, and splits the day
    into valid records and quarantined lines."""
    days = [partition_date(key) for key in context.partition_keys]
    missing = landing.missing([landing.content_file(day) for day in days])
    if missing:
        raise dg.Failure(
            f"{len(missing)} viewing-log file(s) missing: {', '.join(missing)}",
            allow_retries=False,
        )
    yield from validated_days(
        context,
        days,
        lambda day: engine.parse_content_day(
            engine.split_lines(landing.read_content_day(day)), day
        ),
        outputs=("raw_log_content", "content_quarantine"),
        reasons=QUARANTINE_REASONS,
        checks=RAW_CHECKS,
        lake=lake,
        thresholds=thresholds,
    )


@dg.asset(
    partitions_def=content_daily,
    backfill_policy=single_run,
    group_name="content",
    io_manager_key="lake_io_manager",
    metadata=stored_table(schemas.DAILY_PIVOT, "date"),
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    automation_condition=when_inputs_ready,
    freshness_policy=nightly_deadline,
    check_specs=check_specs("daily_pivot", PIVOT_CHECKS),
)
def daily_pivot(context: dg.AssetExecutionContext, lake: Lake, raw_log_content: ds.Dataset):
    """Seconds watched per category for each (date, Contract) with a valid record that day."""
    # One day at a time, staged in the lake: a backfill holds one day's pivot in memory.
    with StagedPartitions(lake, context.run.run_id) as staged:
        for key in context.partition_keys:
            day = raw_log_content.filter(ds.field("date") == partition_date(key))
            staged.write("daily_pivot", key, engine.daily_pivot(day))
        pivots = staged.dataset("daily_pivot")
        yield from run_checks(
            context,
            "daily_pivot",
            PIVOT_CHECKS,
            daily_pivot=pivots,
            raw_log_content=raw_log_content,
        )
        stored = staged.commit()["daily_pivot"]
    contracts = one_row("SELECT count(DISTINCT Contract) AS n FROM p", p=stored.dataset)["n"]
    yield dg.Output(
        stored, metadata={"contracts": contracts, "dagster/column_lineage": PIVOT_LINEAGE}
    )


@dg.asset(
    partitions_def=content_monthly,
    group_name="content",
    io_manager_key="warehouse_io_manager",
    # The IO manager writes the month's CSV once the warehouse has committed it.
    metadata={**stored_table(schemas.CUSTOMER_CONTENT_STATS, "month"), EXPORT_CSV: True},
    kinds={"duckdb", "mysql", "csv"},
    owners=OWNERS,
    automation_condition=when_inputs_ready,
    retry_policy=network_retry,
    pool="warehouse",
    check_specs=check_specs("customer_content_stats", STATS_CHECKS),
)
@transient_retries_only
def customer_content_stats(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    daily_pivot: ds.Dataset,
):
    """The monthly viewing profile of every contract: totals per category, active days,
    MostWatch and Taste. Served from the warehouse and exported as CSV."""
    stats = engine.customer_content_stats(daily_pivot)
    yield from run_checks(
        context,
        "customer_content_stats",
        STATS_CHECKS,
        customer_content_stats=stats,
        daily_pivot=daily_pivot,
        warehouse=warehouse.connect(),
    )
    yield dg.Output(
        stats,
        metadata={
            "dagster/column_lineage": STATS_LINEAGE,
            "most_watch": dg.MetadataValue.json(value_counts(stats, "MostWatch")),
            "active_days_median": pc.quantile(stats["Active"], 0.5, interpolation="lower")[
                0
            ].as_py()
            if stats.num_rows
            else 0,
        },
    )
