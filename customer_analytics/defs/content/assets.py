"""The viewing-log chain: raw_log_content → daily_pivot → customer_content_stats."""

from datetime import date

import dagster as dg
import pyarrow.compute as pc

from customer_analytics.defs.content import transforms as content
from customer_analytics.defs.content.checks import (
    PIVOT_CHECKS,
    RAW_CHECKS,
    STATS_CHECKS,
    PivotToStore,
    ProfilesToStore,
)
from customer_analytics.defs.content.rules import QUARANTINE_REASONS
from customer_analytics.defs.content.schemas import CONTENT_QUARANTINE, RAW_LOG_CONTENT
from customer_analytics.engines.base import LakeFiles, Query, partition_batches
from customer_analytics.io_managers.warehouse import EXPORT_CSV, WarehouseResource
from customer_analytics.lib.automation import nightly_deadline, when_inputs_ready
from customer_analytics.lib.checks import check_specs, run_checks
from customer_analytics.lib.engine import ENGINE_KIND, ComputeEngine, engine_metadata
from customer_analytics.lib.lake import Lake
from customer_analytics.lib.metadata import OWNERS, column_lineage, stored_table, value_counts
from customer_analytics.lib.partitions import content_daily, content_monthly, single_run
from customer_analytics.lib.raw_ingest import DAY, LakeOutput, RawLog, raw_ingest_asset
from customer_analytics.lib.retries import network_retry, transient_retries_only
from customer_analytics.lib.staging import StagedPartitions
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS, DAILY_PIVOT
from customer_analytics.rules.viewing import TOTAL_COLUMNS

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


FOLDER = "log_content"


def day_file(day: date) -> str:
    return f"{FOLDER}/{day:%Y%m%d}.json"


RAW_LOG = RawLog(
    valid=LakeOutput(
        "raw_log_content",
        RAW_LOG_CONTENT,
        "Valid viewing records of a day, one row per log line that passes every rule of the "
        "data contract (docs/contract.md §3).",
    ),
    quarantine=LakeOutput(
        "content_quarantine",
        CONTENT_QUARANTINE,
        "Rejected lines of the viewing log with the first rule they fail, their line number "
        "and their raw text.",
    ),
    description="Reads each day's `log_content/YYYYMMDD.json`, validates every line, and "
    "splits the day into valid records and quarantined lines.",
    group="content",
    unit=DAY,
    partitions_def=content_daily,
    reasons=QUARANTINE_REASONS,
    checks=RAW_CHECKS,
    files=lambda landing, day: day_file(day),
    parse=lambda engine, landing, days: content.parse_content_days(
        engine, landing.location, {day: day_file(day) for day in days}
    ),
    parses_ranges=True,
)
raw_log_content = raw_ingest_asset(RAW_LOG)


@dg.asset(
    partitions_def=content_daily,
    backfill_policy=single_run,
    group_name="content",
    io_manager_key="lake_io_manager",
    metadata=stored_table(DAILY_PIVOT, "date"),
    kinds={ENGINE_KIND, "parquet"},
    owners=OWNERS,
    automation_condition=when_inputs_ready,
    freshness_policy=nightly_deadline,
    check_specs=check_specs("daily_pivot", PIVOT_CHECKS),
)
def daily_pivot(
    context: dg.AssetExecutionContext,
    lake: Lake,
    engine: ComputeEngine,
    raw_log_content: LakeFiles,
):
    """Seconds watched per category for each (date, Contract) with a valid record that day."""
    # Staged in the lake a day at a time on DuckDB (a backfill holds one day's pivot in memory),
    # the whole range in one plan on Spark.
    with engine.open() as opened, StagedPartitions(lake, context.run.run_id, opened) as staged:
        for keys in partition_batches(opened, context.partition_keys):
            days = lake.files("raw_log_content", keys, RAW_LOG_CONTENT)
            staged.write("daily_pivot", keys, content.daily_pivot(days), "date")
        yield from run_checks(
            context,
            "daily_pivot",
            PIVOT_CHECKS,
            PivotToStore(opened, pivot=staged.files("daily_pivot"), raw_days=raw_log_content),
        )
        stored = staged.commit()["daily_pivot"]
        contracts = opened.one_row("SELECT count(DISTINCT Contract) AS n FROM p", p=stored.files)
    yield dg.Output(
        stored,
        metadata={
            "contracts": contracts["n"],
            "dagster/column_lineage": PIVOT_LINEAGE,
            **engine_metadata(opened),
        },
    )


@dg.asset(
    partitions_def=content_monthly,
    group_name="content",
    io_manager_key="warehouse_io_manager",
    # The IO manager writes the month's CSV once the warehouse has committed it.
    metadata={**stored_table(CUSTOMER_CONTENT_STATS, "month"), EXPORT_CSV: True},
    kinds={ENGINE_KIND, "mysql", "csv"},
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
    engine: ComputeEngine,
    daily_pivot: LakeFiles,
):
    """The monthly viewing profile of every contract: totals per category, active days,
    MostWatch and Taste. Served from the warehouse and exported as CSV."""
    # Computed once in the engine, checked there, and only then brought to the driver.
    with (
        engine.open() as opened,
        opened.materialized(content.customer_content_stats(daily_pivot)) as computed,
    ):
        yield from run_checks(
            context,
            "customer_content_stats",
            STATS_CHECKS,
            ProfilesToStore(
                opened, profiles=computed, pivot=daily_pivot, warehouse=warehouse.connect()
            ),
        )
        profiles = Query("SELECT * FROM s", CUSTOMER_CONTENT_STATS, {"s": computed})
        stats = opened.fetch(profiles)
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
            **engine_metadata(opened),
        },
    )
