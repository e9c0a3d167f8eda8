"""`make bench`: the pipeline on realistic volumes, each step timed in a fresh process.

    python -m customer_analytics_tests.bench                        # 3 days at 1.6 M lines
    python -m customer_analytics_tests.bench --days 30              # a real month (minutes, GBs)
    python -m customer_analytics_tests.bench --lines-per-day 100000 # a quick look
    python -m customer_analytics_tests.bench --mysql-url ''         # skip the MySQL load

Prints, per step, wall time, throughput and the peak resident memory of the process that ran it.
"""

import argparse
import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from customer_analytics.settings import REPO_ROOT

BENCH_ROOT = REPO_ROOT / "data" / "bench"


def _environment(root: Path) -> dict[str, str]:
    return {
        "RAW_DATA_URI": str(root / "raw"),
        "LAKE_URI": str(root / "lake"),
        "WAREHOUSE_URL": f"duckdb:///{root / 'warehouse.duckdb'}",
        "EXPORT_DIR": str(root / "exports"),
    }


def _in_child(step: Callable[[], int], queue: multiprocessing.Queue) -> None:
    started = time.perf_counter()
    rows = step()
    elapsed = time.perf_counter() - started
    queue.put((rows, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measure(name: str, step: Callable[[], int], unit: str) -> None:
    """Runs `step` (which returns how many `unit` it processed) in a fresh process."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(step, queue))
    child.start()
    rows, elapsed, peak_mb = queue.get()
    child.join()
    if child.exitcode:
        raise SystemExit(f"{name} failed")
    print(
        f"{name:<34} {elapsed:>8.1f} s  {rows:>13,} {unit:<6} {rows / elapsed:>12,.0f} {unit}/s"
        f"  peak {peak_mb:>7,.0f} MB",
        flush=True,
    )


def _materialize(asset: str, figure: str, **partitions) -> int:
    """Materializes one asset through Dagster with the project's resources; returns `figure`
    from its metadata (for a range, the figure covers the whole run)."""
    import dagster as dg

    from customer_analytics.definitions import defs

    definitions = defs()
    key = dg.AssetKey(asset)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [
                definitions.get_assets_def(k)
                for k in definitions.resolve_asset_graph().get_all_asset_keys()
            ],
            selection=dg.AssetSelection.assets(key).required_multi_asset_neighbors(),
            instance=instance,
            resources=definitions.resources,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            **partitions,
        )
    return result.asset_materializations_for_node(asset)[0].metadata[figure].value


def _backfill(first: date, last: date) -> int:
    """The daily content assets over a range in one run, as a single-run backfill; the lines read."""
    import dagster as dg

    from customer_analytics.definitions import defs

    definitions = defs()
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [
                definitions.get_assets_def(dg.AssetKey(a))
                for a in ("raw_log_content", "daily_pivot")
            ],
            instance=instance,
            resources=definitions.resources,
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    return result.asset_materializations_for_node("raw_log_content")[0].metadata["input_rows"].value


def _monthly_profiles(first: date, last: date) -> int:
    """customer_content_stats on the days there are (the asset itself wants a whole month)."""
    import pyarrow.dataset as ds

    from customer_analytics.engines.content import customer_content_stats
    from customer_analytics.io_managers.warehouse import connect_warehouse
    from customer_analytics.lib.partitions import next_month
    from customer_analytics.settings import Settings

    settings = Settings.from_env()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    pivots = ds.dataset([f"{settings.lake_uri}/daily_pivot/{day}.parquet" for day in days])
    stats = customer_content_stats(pivots)
    connect_warehouse(settings.warehouse_url).replace(
        "customer_content_stats", stats, ("month", first, next_month(first))
    )
    return stats.num_rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--lines-per-day", type=int, default=1_600_000)
    parser.add_argument(
        "--mysql-url",
        default="mysql+pymysql://root@127.0.0.1:3306/test",
        help="database for the MySQL load figures (tables of its own, dropped after)",
    )
    parser.add_argument("--mysql-rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    root = BENCH_ROOT / f"{args.days}x{args.lines_per_day}"
    os.environ.update(_environment(root))
    first = date(2022, 4, 1)
    last = first + timedelta(days=args.days - 1)
    day_range = {
        "tags": {
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        }
    }
    print(f"bench: {args.days} day(s) x {args.lines_per_day:,} lines under {root}", flush=True)

    def generate() -> int:
        from customer_analytics.sample_data import generate as write_sample

        summary = write_sample(
            root / "raw",
            content_days=args.days,
            lines_per_day=args.lines_per_day,
            search=False,
            verbose=False,
        )
        return summary.content_lines

    if not (root / "raw" / "log_content" / f"{last:%Y%m%d}.json").exists():
        measure("generate sample (not the pipeline)", generate, "lines")
    # A single-run backfill holds one day at a time: its peak memory should not grow with it.
    measure(
        "backfill of 2 days (raw + pivot)", lambda: _backfill(first, first + timedelta(1)), "lines"
    )
    measure(f"backfill of {args.days} days (raw + pivot)", lambda: _backfill(first, last), "lines")
    measure(
        "raw_log_content + quarantine",
        lambda: _materialize("raw_log_content", "input_rows", **day_range),
        "lines",
    )
    measure(
        "daily_pivot", lambda: _materialize("daily_pivot", "dagster/row_count", **day_range), "rows"
    )
    measure("customer_content_stats + warehouse", lambda: _monthly_profiles(first, last), "rows")
    if args.mysql_url:
        from customer_analytics_tests.bench.warehouse_load import measure_mysql_load

        print(f"MySQL load of {args.mysql_rows:,} customer_content_stats rows:", flush=True)
        for label, rows_per_second in measure_mysql_load(args.mysql_url, args.mysql_rows):
            print(f"  {label:<48} {rows_per_second:>10,.0f} rows/s", flush=True)


if __name__ == "__main__":
    main()
