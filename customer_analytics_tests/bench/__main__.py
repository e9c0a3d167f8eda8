"""`make bench`: the content chain through Dagster's CLI, side by side with its lower bound and
its peer, on the same generated month; then the search chain and the MySQL load.

    python -m customer_analytics_tests.bench                                  # 30 days x 100,000 lines
    python -m customer_analytics_tests.bench --lines-per-day 1600000          # the real month
    python -m customer_analytics_tests.bench --engines duckdb --mysql-url ''  # no Spark, no MySQL

Every step runs as a command of its own and is measured from outside: wall time and the peak
resident memory of its whole process tree. The table is printed and written as Markdown and
JSON under data/bench/<days>x<lines>/.
"""

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import dagster as dg
import duckdb

from customer_analytics.settings import REPO_ROOT
from customer_analytics_tests.bench.lower_bound import checksum_sql
from customer_analytics_tests.bench.measure import run
from customer_analytics_tests.bench.report import Figure, Report

BENCH_ROOT = REPO_ROOT / "data" / "bench"
DG = Path(sys.executable).with_name("dg")
FIRST_DAY = date(2022, 4, 1)
MONTH_DAYS = 30
INSTANCE_CONFIG = REPO_ROOT / "infra" / "dagster" / "dagster.local.yaml"
# The real search log is about 5 MB of Parquet a day, 100,000 searches for the real 1.6 M
# viewing lines a day, from two months of 14 days (defs/search/sample_data.py SEARCH_DAYS).
SEARCHES_PER_VIEWING_LINE = 1 / 16
SEARCH_USERS_PER_SEARCH = 2
# Below this a day's dirt is too few rows for its shares to hold, and the checks block it.
MIN_SEARCHES_PER_DAY = 3000
# A backfill whose Spark jobs are counted beside the month's.
JOBS_COUNTED_DAYS = 2
# An asset of each step of the content backfill (the multi-asset's outputs share its engine).
BACKFILL_STEPS = ("raw_log_content", "daily_pivot")
SEARCH_RANGES = ("2022-06-01...2022-06-14", "2022-07-01...2022-07-14")
# Dagster runs each step of a run in a process of its own, and the bench measures it so; this
# runs them in the run's process instead, seconds of start-up fewer a step, for the test of the
# bench, which times nothing.
IN_PROCESS = ["--config-json", json.dumps({"execution": {"config": {"in_process": {}}}})]


class Bench:
    def __init__(self, root: Path, report: Report, launch_options: list[str]) -> None:
        self.root = root
        self.report = report
        self.launch_options = launch_options

    def step(
        self,
        name: str,
        command: list[str],
        count: int | Callable[[], int] | None,
        unit: str,
        environ: dict[str, str] | None = None,
    ) -> Figure:
        """Runs one step. `count` is what it processed, or a function that tells once it has
        run; None takes the rows of the JSON line the step prints last."""
        log = self.root / "logs" / (name.replace(" ", "_").replace(":", "") + ".log")
        measured = run(command, environ or {}, log)
        result = {}
        if count is None:
            result = json.loads(log.read_text().splitlines()[-1])
            count = result["rows"]
        elif callable(count):
            count = count()
        return self.report.add(
            Figure(name, measured.seconds, count, unit, measured.peak_bytes / 2**20, result=result)
        )

    def launch(self, assets: str, *span: str, engine: str = "duckdb") -> list[str]:
        """The `dg launch` of `assets` for `span`, a partition or a range, on `engine`. A Spark
        run keeps its steps in one process already, and its executor takes no choice of one
        (`definitions.py:run_executor`)."""
        options = [] if engine == "spark" else self.launch_options
        return [str(DG), "launch", "--assets", assets, *span, *options]


def _python(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def _pipeline_environment(root: Path, engine: str, folder: str) -> dict[str, str]:
    """A fresh instance, lake and warehouse in `folder`, on the shared landing zone."""
    home = root / folder / "dagster_home"
    shutil.rmtree(root / folder, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(INSTANCE_CONFIG, home / "dagster.yaml")
    return {
        "DAGSTER_HOME": str(home),
        "VIRTUAL_ENV": sys.prefix,  # dg checks that it runs in the project's environment
        "RAW_DATA_URI": str(root / "raw"),
        "LAKE_URI": str(root / folder / "lake"),
        "WAREHOUSE_URL": f"duckdb:///{root / folder / 'warehouse.duckdb'}",
        "EXPORT_DIR": str(root / folder / "exports"),
        "REPORT_DIR": str(root / folder / "reports"),
        "COMPUTE_ENGINE": engine,
        "KEYWORD_CLASSIFIER": "rules",
    }


def _warehouse(environ: dict[str, str]) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(environ["WAREHOUSE_URL"].removeprefix("duckdb:///"), read_only=True)


def _spark_jobs(environ: dict[str, str]) -> int:
    """The Spark jobs of the latest backfill: what each of its steps recorded (`spark_jobs`)."""
    # The instance's dagster.yaml reads DAGSTER_HOME from the environment.
    with (
        mock.patch.dict(os.environ, {"DAGSTER_HOME": environ["DAGSTER_HOME"]}),
        dg.DagsterInstance.get() as instance,
    ):
        return sum(
            instance.get_latest_materialization_event(dg.AssetKey(asset))
            .asset_materialization.metadata["spark_jobs"]
            .value
            for asset in BACKFILL_STEPS
        )


def content_chain(bench: Bench, engine: str, lines: int) -> dict[str, str]:
    """Steps 2 and 5: the single-run backfill of the month, then its profiles into the
    warehouse and the CSV, then the analytics group on them, with the CLI, as a user runs
    them."""
    environ = _pipeline_environment(bench.root, engine, engine)
    last = FIRST_DAY + timedelta(days=MONTH_DAYS - 1)
    if engine == "spark":
        # The month's backfill must run about as many Spark jobs as two days do.
        bench.step(
            f"{engine}: backfill of {JOBS_COUNTED_DAYS} days",
            bench.launch(
                "raw_log_content,content_quarantine,daily_pivot",
                "--partition-range",
                f"{FIRST_DAY}...{FIRST_DAY + timedelta(days=JOBS_COUNTED_DAYS - 1)}",
                engine=engine,
            ),
            JOBS_COUNTED_DAYS * lines,
            "lines",
            environ,
        ).timed = False
        bench.report.spark_jobs[f"{JOBS_COUNTED_DAYS} days"] = _spark_jobs(environ)
    bench.step(
        f"{engine}: backfill of {MONTH_DAYS} days",
        bench.launch(
            "raw_log_content,content_quarantine,daily_pivot",
            "--partition-range",
            f"{FIRST_DAY}...{last}",
            engine=engine,
        ),
        MONTH_DAYS * lines,
        "lines",
        environ,
    )
    if engine == "spark":
        bench.report.spark_jobs[f"{MONTH_DAYS} days"] = _spark_jobs(environ)

    def profiles() -> int:
        with _warehouse(environ) as warehouse:
            rows, checksum = warehouse.sql(checksum_sql("customer_content_stats")).fetchone()
        bench.report.profiles[engine] = {"rows": rows, "checksum": checksum}
        return rows

    bench.step(
        f"{engine}: customer_content_stats",
        bench.launch("customer_content_stats", "--partition", FIRST_DAY.isoformat(), engine=engine),
        profiles,
        "rows",
        environ,
    )
    bench.step(
        f"analytics on {engine}: 6 tables, charts, report",
        bench.launch("group:analytics", "--partition", FIRST_DAY.isoformat(), engine=engine),
        lambda: bench.report.profiles[engine]["rows"],
        "profiles",
        environ,
    )
    return environ


def search_chain(bench: Bench, searches_per_day: int) -> None:
    """Step 6: two months of the search log, then their keywords and profiles."""
    environ = _pipeline_environment(bench.root, "duckdb", "search")
    for span in SEARCH_RANGES:
        bench.step(
            f"search: raw days {span}",
            bench.launch("raw_log_search,search_quarantine", "--partition-range", span),
            14 * searches_per_day,
            "rows",
            environ,
        )
    for month in ("2022-06-01", "2022-07-01"):

        def profiles(month: str = month) -> int:
            with _warehouse(environ) as warehouse:
                return warehouse.execute(
                    "SELECT count(*) FROM customer_search_stats WHERE month = ?", [month]
                ).fetchone()[0]

        bench.step(
            f"search: monthly tables {month[:7]}",
            bench.launch(
                "monthly_top_keyword,keyword_category,customer_search_stats", "--partition", month
            ),
            profiles,
            "rows",
            environ,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines-per-day", type=int, default=100_000)
    parser.add_argument("--engines", default="duckdb,spark", help="comma-separated")
    parser.add_argument(
        "--mysql-url",
        default="mysql+pymysql://root@127.0.0.1:3306/test",
        help="database for the MySQL load (a table of its own, dropped after); '' skips it",
    )
    parser.add_argument("--root", type=Path, help="default data/bench/30x<lines>")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run each Dagster run's steps in its process: faster, but not what users run",
    )
    args = parser.parse_args(argv)
    lines = args.lines_per_day
    root = args.root or BENCH_ROOT / f"{MONTH_DAYS}x{lines}"
    searches = max(MIN_SEARCHES_PER_DAY, round(lines * SEARCHES_PER_VIEWING_LINE))
    report = Report(root, sys.argv[1:] if argv is None else argv)
    bench = Bench(root, report, IN_PROCESS if args.in_process else [])
    print(f"bench: {MONTH_DAYS} days x {lines:,} lines under {root}", flush=True)

    raw = root / "raw"
    day_files = [
        str(raw / "log_content" / f"{FIRST_DAY + timedelta(n):%Y%m%d}.json")
        for n in range(MONTH_DAYS)
    ]
    if not Path(day_files[-1]).exists() or not (raw / "log_search").exists():
        bench.step(
            "generate the sample logs",
            _python(
                "customer_analytics.sample_data",
                *("--out", str(raw), "--content-days", str(MONTH_DAYS)),
                *("--lines-per-day", str(lines), "--searches-per-day", str(searches)),
                *("--search-users", str(searches * SEARCH_USERS_PER_SEARCH), "--quiet"),
            ),
            MONTH_DAYS * lines,
            "lines",
        ).timed = False
    engines = args.engines.split(",")
    environ = {}
    for engine in engines:
        environ[engine] = content_chain(bench, engine, lines)
    bound = bench.step(
        "lower bound: one bare DuckDB query",
        _python("customer_analytics_tests.bench.lower_bound", *day_files),
        None,
        "rows",
    )
    report.profiles["lower bound"] = bound.result
    bench.step(
        "peer: the original PySpark job",
        _python("customer_analytics_tests.bench.spark_peer", str(root / "peer"), *day_files),
        None,
        "rows",
    )
    search_chain(bench, searches)
    if args.mysql_url:
        loaded = bench.step(
            "MySQL: the month's profiles through the warehouse",
            _python(
                "customer_analytics_tests.bench.warehouse_load",
                args.mysql_url,
                environ[engines[0]]["WAREHOUSE_URL"],
            ),
            None,
            "rows",
        )
        report.mysql = loaded.result
    report.write()


if __name__ == "__main__":
    main()
