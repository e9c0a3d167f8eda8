"""The commands users type: each raw and quarantine asset by its own name, for a day and for a
range, with the `dg` CLI and with the older `dagster asset materialize`.

Whatever is selected, the valid rows and the quarantine of a day come from the same read: both
files are rewritten and both assets record a materialization of that day.

Each command runs its steps in the run's own process (`--config-json`): what the commands
select, read and record is the subject here, not Dagster's executor, whose step processes
cost seconds each (`make demo` and `make bench` run them as users do).
"""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from customer_analytics_tests.conftest import content_line

BIN = Path(sys.executable).parent
MODULE = ["-m", "customer_analytics.definitions"]
IN_PROCESS = ["--config-json", json.dumps({"execution": {"config": {"in_process": {}}}})]

# Valid and quarantined lines per day, counted by hand.
CONTENT_DAYS = {
    date(2022, 4, 1): ([content_line("a", "C1", "KPLUS", 60), "{bad"], 1, 1),
    date(2022, 4, 2): (
        [content_line("b", "C1", "VOD", 30), content_line("c", "0", "VOD", 5)],
        1,
        1,
    ),
    date(2022, 4, 3): (
        [content_line("d", "C2", "SPORT", 10), content_line("e", "C2", "RELAX", 1)],
        2,
        0,
    ),
}
SEARCH_DAYS = {
    date(2022, 6, 1): (
        [
            {"eventID": "s1", "user_id": "0014111", "keyword": "VTV3"},
            {"eventID": "s1", "user_id": "0014111", "keyword": "VTV3"},  # repeated event
        ],
        1,
        1,
    ),
    date(2022, 6, 2): ([{"eventID": "s2", "user_id": "", "keyword": "bolero"}], 0, 1),
}


@pytest.fixture
def cli(project, dagster_home):
    """Runs a CLI command against the test's landing zone, lake and a fresh Dagster home."""
    for day, (lines, _, _) in CONTENT_DAYS.items():
        project.write_content_day(day, lines)
    for day, (rows, _, _) in SEARCH_DAYS.items():
        project.write_search_day(day, rows)

    def run(*command: str) -> dg.DagsterInstance:
        # Days of two lines, one of them bad: far above the share of a real export, on purpose.
        env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "CHECK_MAX_REJECTED_SHARE": "1"}
        finished = subprocess.run(
            [str(BIN / command[0]), *command[1:], *IN_PROCESS],
            capture_output=True,
            text=True,
            env=env,
        )
        assert finished.returncode == 0, finished.stderr[-3000:]
        return dg.DagsterInstance.from_config(str(dagster_home))

    return run


def _stored_rows(project, asset: str, day: date) -> int:
    return pq.read_metadata(project.root / "lake" / asset / f"{day}.parquet").num_rows


def _materialized(instance: dg.DagsterInstance, asset: str) -> set[str]:
    return instance.get_materialized_partitions(dg.AssetKey(asset))


EMBEDDED = pytest.mark.parametrize("project", ["embedded"], indirect=True)


RAW = {
    "content": ("raw_log_content", "content_quarantine"),
    "search": ("raw_log_search", "search_quarantine"),
}


@EMBEDDED
@pytest.mark.parametrize(
    "select, partition, log, downstream",
    [
        ("raw_log_content", "2022-04-02", "content", set()),
        ("raw_log_search", "2022-06-02", "search", set()),
        ("raw_log_content,daily_pivot", "2022-04-02", "content", {"daily_pivot"}),
    ],
)
def test_dagster_asset_materialize_selects_a_raw_asset_by_its_name(
    project, cli, select, partition, log, downstream
):
    command = ["dagster", "asset", "materialize", *MODULE, "--select", select]
    with cli(*command, "--partition", partition) as instance:
        materialized = {
            asset
            for asset in (*RAW["content"], *RAW["search"], "daily_pivot")
            if _materialized(instance, asset) == {partition}
        }
    valid_asset, quarantine_asset = RAW[log]
    assert materialized == {valid_asset, quarantine_asset, *downstream}
    day = date.fromisoformat(partition)
    _, valid, quarantined = (CONTENT_DAYS if log == "content" else SEARCH_DAYS)[day]
    assert _stored_rows(project, valid_asset, day) == valid
    assert _stored_rows(project, quarantine_asset, day) == quarantined


@EMBEDDED
@pytest.mark.parametrize(
    "asset, span, log",
    [
        ("content_quarantine", ["--partition", "2022-04-01"], "content"),
        ("content_quarantine", ["--partition-range", "2022-04-01...2022-04-03"], "content"),
        ("raw_log_search", ["--partition-range", "2022-06-01...2022-06-02"], "search"),
        ("search_quarantine", ["--partition", "2022-06-01"], "search"),
        ("search_quarantine", ["--partition-range", "2022-06-01...2022-06-02"], "search"),
    ],
)
def test_dg_launch_one_raw_asset_rewrites_both_from_one_read(project, cli, asset, span, log):
    days = CONTENT_DAYS if log == "content" else SEARCH_DAYS
    if span[0] == "--partition":
        expected = {span[1]}
    else:
        first, last = span[1].split("...")
        expected = {str(day) for day in days if first <= str(day) <= last}
    with cli("dg", "launch", "--assets", asset, *span) as instance:
        assert len(instance.get_runs()) == 1
        for stored in RAW[log]:
            assert _materialized(instance, stored) == expected
        assert _materialized(instance, "daily_pivot") == set()
    valid_asset, quarantine_asset = RAW[log]
    for key in expected:
        day = date.fromisoformat(key)
        _, valid, quarantined = days[day]
        assert _stored_rows(project, valid_asset, day) == valid
        assert _stored_rows(project, quarantine_asset, day) == quarantined


@EMBEDDED
def test_a_partition_range_is_a_single_run(project, cli):
    selection = "raw_log_content,content_quarantine,daily_pivot"
    with cli(
        "dg", "launch", "--assets", selection, "--partition-range", "2022-04-01...2022-04-03"
    ) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1
        assert runs[0].status == dg.DagsterRunStatus.SUCCESS
        for asset in selection.split(","):
            assert _materialized(instance, asset) == {"2022-04-01", "2022-04-02", "2022-04-03"}
