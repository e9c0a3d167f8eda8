"""`make bench` at a tiny scale: every step runs, the table is written, and the pipeline's
profiles are those of the lower bound, an independent query by the same rules. Nothing here is
timed, so each Dagster run keeps its steps in its own process (`--in-process`): the step
processes of `make bench` are Dagster's, and `defs/test_cli.py` runs the CLI with them."""

import json

from customer_analytics_tests.bench.__main__ import main

LINES_PER_DAY = 300


def test_the_bench_runs_every_step_and_agrees_with_its_lower_bound(tmp_path, empty_mysql_url):
    main(
        [
            *("--lines-per-day", str(LINES_PER_DAY), "--engines", "duckdb", "--in-process"),
            *("--mysql-url", empty_mysql_url, "--root", str(tmp_path)),
        ]
    )

    report = json.loads((tmp_path / "bench.json").read_text())
    steps = {figure["step"]: figure for figure in report["figures"]}
    assert list(steps) == [
        "generate the sample logs",
        "duckdb: backfill of 30 days",
        "duckdb: customer_content_stats",
        "analytics on duckdb: 6 tables, charts, report",
        "lower bound: one bare DuckDB query",
        "peer: the original PySpark job",
        "search: raw days 2022-06-01...2022-06-14",
        "search: raw days 2022-07-01...2022-07-14",
        "search: monthly tables 2022-06",
        "search: monthly tables 2022-07",
        "MySQL: the month's profiles through the warehouse",
    ]
    assert steps["duckdb: backfill of 30 days"]["count"] == 30 * LINES_PER_DAY
    assert (tmp_path / "duckdb" / "reports" / "2022-04" / "index.html").exists()
    assert all(figure["peak_mb"] > 0 for figure in report["figures"])
    # The same table row for row: the checksums of the pipeline and of the bound agree. (At the
    # real volume they do not quite: DuckDB's read_json, skipping a truncated line, also skips
    # the line after it; no truncated line is followed by a valid one at this scale.)
    profiles = report["profiles"]
    assert profiles["duckdb"] == profiles["lower bound"]
    assert report["same_profiles"] == {"duckdb": True}
    assert profiles["duckdb"]["rows"] > 0
    loaded = steps["MySQL: the month's profiles through the warehouse"]
    assert loaded["count"] == profiles["duckdb"]["rows"]
    assert set(report["mysql"]) == {
        "rows",
        "load_rows_per_second",
        "replace_again_rows_per_second",
        "executemany_rows_per_second",
    }
    assert set(report["ratios"]) == {"duckdb pipeline / lower bound", "peer / duckdb pipeline"}
    assert (tmp_path / "bench.md").read_text().startswith("| step |")
