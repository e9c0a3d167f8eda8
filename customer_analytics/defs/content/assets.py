"""The viewing-log chain: raw_log_content → daily_pivot → customer_content_stats."""

import time

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from customer_analytics.engines import duckdb_engine
from customer_analytics.lib.landing import CsvExports, LandingZone
from customer_analytics.lib.partitions import (
    content_daily,
    content_monthly,
    partition_date,
    single_run,
)
from customer_analytics.rules.content import QUARANTINE_REASONS

OWNERS = ["team:data-engineering"]


def _counts(table: pa.Table, column: str) -> dict[str, int]:
    counts = pc.value_counts(table[column]).to_pylist() if table.num_rows else []
    return {str(item["values"]): item["counts"] for item in counts}


@dg.multi_asset(
    outs={
        "raw_log_content": dg.AssetOut(
            description="Valid viewing records of a day, one row per log line that passes "
            "every rule of DESIGN.md §3.",
            io_manager_key="lake_io_manager",
            metadata={"partition_expr": "date"},
            kinds={"parquet", "duckdb"},
            owners=OWNERS,
        ),
        "content_quarantine": dg.AssetOut(
            description="Rejected lines of the viewing log with the first rule they fail, "
            "their line number and their raw text.",
            io_manager_key="lake_io_manager",
            metadata={"partition_expr": "date"},
            kinds={"parquet"},
            owners=OWNERS,
        ),
    },
    partitions_def=content_daily,
    backfill_policy=single_run,
    group_name="content",
)
def raw_log_content(context: dg.AssetExecutionContext, landing: LandingZone):
    """Reads each day's `log_content/YYYYMMDD.json`, validates every line, and splits the day
    into valid records and quarantined lines."""
    days = [partition_date(key) for key in context.partition_keys]
    missing = landing.missing_content_files(days)
    if missing:
        raise dg.Failure(
            description=f"{len(missing)} viewing-log file(s) missing: {', '.join(missing)}",
            metadata={"missing": dg.MetadataValue.json(missing)},
        )
    valid, quarantine = [], []
    for day in days:
        started = time.perf_counter()
        parsed = duckdb_engine.parse_content_day(
            duckdb_engine.split_lines(landing.read_content_day(day)), day
        )
        valid.append(parsed.valid)
        quarantine.append(parsed.quarantine)
        context.log.info(
            f"{day}: {parsed.valid.num_rows + parsed.quarantine.num_rows:,} lines, "
            f"{parsed.valid.num_rows:,} valid, {parsed.quarantine.num_rows:,} quarantined "
            f"({time.perf_counter() - started:.1f} s)"
        )
    valid_rows = pa.concat_tables(valid)
    rejected = pa.concat_tables(quarantine)
    by_reason = {
        reason: _counts(rejected, "reason").get(reason, 0) for reason in QUARANTINE_REASONS
    }
    lines = valid_rows.num_rows + rejected.num_rows
    yield dg.Output(
        valid_rows,
        output_name="raw_log_content",
        metadata={
            "lines": lines,
            "quarantined": rejected.num_rows,
            "quarantined_share": rejected.num_rows / lines if lines else 0.0,
            **{f"quarantined/{reason}": count for reason, count in by_reason.items()},
            "rows_by_category": dg.MetadataValue.json(_counts(valid_rows, "category")),
        },
    )
    yield dg.Output(
        rejected,
        output_name="content_quarantine",
        metadata={"by_reason": dg.MetadataValue.json(by_reason)},
    )


@dg.asset(
    partitions_def=content_daily,
    backfill_policy=single_run,
    group_name="content",
    io_manager_key="lake_io_manager",
    metadata={"partition_expr": "date"},
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
)
def daily_pivot(raw_log_content: ds.Dataset) -> dg.Output[pa.Table]:
    """Seconds watched per category for each (date, Contract) with a valid record that day."""
    pivot = duckdb_engine.daily_pivot(raw_log_content)
    return dg.Output(pivot, metadata={"contracts": pc.count_distinct(pivot["Contract"]).as_py()})


@dg.asset(
    partitions_def=content_monthly,
    group_name="content",
    io_manager_key="warehouse_io_manager",
    metadata={"partition_expr": "month"},
    kinds={"duckdb", "csv"},
    owners=OWNERS,
)
def customer_content_stats(
    context: dg.AssetExecutionContext, exports: CsvExports, daily_pivot: ds.Dataset
) -> dg.Output[pa.Table]:
    """The monthly viewing profile of every contract: totals per category, active days,
    MostWatch and Taste. Served from the warehouse and exported as CSV."""
    stats = duckdb_engine.customer_content_stats(daily_pivot)
    csv_path = exports.write("customer_content_stats", context.partition_key, stats)
    context.log.info(f"Exported {stats.num_rows:,} profiles to {csv_path}")
    return dg.Output(
        stats,
        metadata={
            "csv": dg.MetadataValue.path(csv_path),
            "most_watch": dg.MetadataValue.json(_counts(stats, "MostWatch")),
            "active_days_median": pc.approximate_median(stats["Active"]).as_py()
            if stats.num_rows
            else 0,
        },
    )
