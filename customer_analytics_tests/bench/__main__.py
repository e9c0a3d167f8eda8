"""`make bench`: the pipeline on realistic volumes, each step timed in a fresh process, on
each engine over the same generated files.

    python -m customer_analytics_tests.bench                          # 10 days at 200,000 lines
    python -m customer_analytics_tests.bench --days 30 --lines-per-day 1600000   # a real month
    python -m customer_analytics_tests.bench --engines duckdb         # DuckDB only
    python -m customer_analytics_tests.bench --mysql-url ''           # skip the MySQL load

Prints, per step, wall time, throughput and the peak resident memory of the process tree that
ran it (Spark's JVM included).
"""

import argparse
import multiprocessing
import os
import threading
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


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending.extend(children.get(pid, []))
    return total


def _in_child(step: Callable[[], int], queue: multiprocessing.Queue) -> None:
    started = time.perf_counter()
    rows = step()
    queue.put((rows, time.perf_counter() - started))


def measure(name: str, step: Callable[[], int], unit: str, environ: dict | None = None) -> None:
    """Runs `step` (which returns how many `unit` it processed) in a fresh process with
    `environ` added to its environment, sampling the memory of its process tree."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    saved = dict(os.environ)
    os.environ.update(environ or {})
    child = context.Process(target=_in_child, args=(step, queue))
    child.start()
    os.environ.clear()
    os.environ.update(saved)
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_rss_bytes(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rows, elapsed = queue.get()
    child.join()
    done.set()
    sampler.join()
    if child.exitcode:
        raise SystemExit(f"{name} failed")
    print(
        f"{name:<44} {elapsed:>8.1f} s  {rows:>13,} {unit:<6} {rows / elapsed:>12,.0f} {unit}/s"
        f"  peak {peak[0] / 2**20:>7,.0f} MB",
        flush=True,
    )


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
    """customer_content_stats on the days there are (the asset itself wants a whole month),
    on the configured engine."""
    from customer_analytics.definitions import compute_engine
    from customer_analytics.engines import content
    from customer_analytics.engines.base import LakeFiles
    from customer_analytics.engines.storage import Location
    from customer_analytics.io_managers.warehouse import PartitionWindow, connect_warehouse
    from customer_analytics.lib.partitions import next_month
    from customer_analytics.settings import Settings

    settings = Settings.from_env()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    pivots = LakeFiles(
        Location(settings.lake_uri), tuple(f"daily_pivot/{day}.parquet" for day in days)
    )
    with compute_engine(settings).open() as engine:
        stats = engine.fetch(content.customer_content_stats(pivots))
    connect_warehouse(settings.warehouse_url).replace(
        "customer_content_stats", stats, PartitionWindow("month", first, next_month(first))
    )
    return stats.num_rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--lines-per-day", type=int, default=200_000)
    parser.add_argument("--engines", default="duckdb,spark", help="comma-separated")
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
    two_days = first + timedelta(1)
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
    for engine in args.engines.split(","):
        # A single-run backfill holds one day at a time: its peak memory should not grow with it.
        on = {"COMPUTE_ENGINE": engine}
        measure(
            f"{engine}: backfill of 2 days (raw + pivot)",
            lambda: _backfill(first, two_days),
            "lines",
            on,
        )
        measure(
            f"{engine}: backfill of {args.days} days (raw + pivot)",
            lambda: _backfill(first, last),
            "lines",
            on,
        )
        measure(
            f"{engine}: customer_content_stats + warehouse",
            lambda: _monthly_profiles(first, last),
            "rows",
            on,
        )
    if args.mysql_url:
        from customer_analytics_tests.bench.warehouse_load import measure_mysql_load

        print(f"MySQL load of {args.mysql_rows:,} customer_content_stats rows:", flush=True)
        for label, rows_per_second in measure_mysql_load(args.mysql_url, args.mysql_rows):
            print(f"  {label:<48} {rows_per_second:>10,.0f} rows/s", flush=True)


if __name__ == "__main__":
    main()
