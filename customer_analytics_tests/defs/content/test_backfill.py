"""A range of days is one run: the CLI backfill that the README documents."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg

from customer_analytics_tests.conftest import content_line

DAGSTER = str(Path(sys.executable).with_name("dagster"))


def test_partition_range_materializes_in_a_single_run(project, tmp_path):
    days = [date(2022, 4, 1), date(2022, 4, 2), date(2022, 4, 3)]
    for number, day in enumerate(days):
        project.write_content_day(day, [content_line(f"id{number}", "C1", "KPLUS", 60)])
    home = tmp_path / "dagster_home"
    home.mkdir()

    command = "asset materialize -m customer_analytics.definitions --select"
    subprocess.run(
        [
            DAGSTER,
            *command.split(),
            "raw_log_content,content_quarantine,daily_pivot",
            "--partition-range",
            "2022-04-01...2022-04-03",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "DAGSTER_HOME": str(home)},
    )

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1
        assert runs[0].status == dg.DagsterRunStatus.SUCCESS
        for asset in ("raw_log_content", "content_quarantine", "daily_pivot"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == {
                "2022-04-01",
                "2022-04-02",
                "2022-04-03",
            }
