"""Partitions staged one at a time, put in place together, or dropped: locally and in S3."""

import os
import time

import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from customer_analytics.engines.base import Query
from customer_analytics.engines.duckdb import DuckDBEngine
from customer_analytics.lib.staging import STALE_STAGED_SECONDS, StagedPartitions

SCHEMA = pa.schema([("n", pa.int64())])


def _day(value: int) -> pa.Table:
    return pa.table({"n": [value]}, schema=SCHEMA)


def _query(value: int) -> Query:
    """The day as the literal query that stages it."""
    return Query("SELECT * FROM t", SCHEMA, {"t": _day(value)})


@pytest.fixture
def duckdb_engine():
    """Staging is the same on every engine: the tests stage with DuckDB."""
    opened = DuckDBEngine()
    yield opened
    opened.close()


def _listing(project, asset: str) -> list[str]:
    """Every file below the asset's folder, hidden ones included, relative to it."""
    location = project.lake
    selector = pafs.FileSelector(location.path(asset), allow_not_found=True, recursive=True)
    root = location.path(asset) + "/"
    return sorted(
        info.path.removeprefix(root)
        for info in location.filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File
    )


def test_committed_days_replace_their_files_and_leave_nothing_staged(project, duckdb_engine):
    lake = project.resources()["lake"]
    lake.location.write_parquet("pivot/2022-04-01.parquet", _day(0))
    with StagedPartitions(lake, "run-1", duckdb_engine) as staged:
        staged.write("pivot", ["2022-04-01"], _query(1))
        staged.write("pivot", ["2022-04-02"], _query(2))
        assert staged.files("pivot").dataset().to_table()["n"].to_pylist() == [1, 2]
        # Not in place before the commit: readers still see the old day only.
        assert lake.location.read_parquet("pivot/2022-04-01.parquet")["n"].to_pylist() == [0]
        stored = staged.commit()["pivot"]

    assert stored.keys == ("2022-04-01", "2022-04-02")
    assert stored.files.dataset().to_table()["n"].to_pylist() == [1, 2]
    assert _listing(project, "pivot") == ["2022-04-01.parquet", "2022-04-02.parquet"]


def test_days_staged_by_a_run_that_fails_are_dropped_and_the_lake_keeps_its_files(
    project, duckdb_engine
):
    lake = project.resources()["lake"]
    lake.location.write_parquet("pivot/2022-04-01.parquet", _day(0))
    with pytest.raises(RuntimeError), StagedPartitions(lake, "run-2", duckdb_engine) as staged:
        staged.write("pivot", ["2022-04-01"], _query(1))
        staged.write("pivot", ["2022-04-02"], _query(2))
        raise RuntimeError("a blocking check failed")

    assert _listing(project, "pivot") == ["2022-04-01.parquet"]
    assert lake.location.read_parquet("pivot/2022-04-01.parquet")["n"].to_pylist() == [0]


@pytest.mark.parametrize("project", ["embedded"], indirect=True)
def test_the_staged_files_of_a_dead_run_are_removed_a_day_later(project, duckdb_engine):
    lake = project.resources()["lake"]
    dead = "pivot/.staged/0123abcd-dead/2022-04-01.parquet"
    recent = "pivot/.staged/4567abcd-busy/2022-04-02.parquet"
    lake.location.write_parquet(dead, _day(9))
    lake.location.write_parquet(recent, _day(8))
    long_ago = time.time() - STALE_STAGED_SECONDS - 60
    os.utime(project.root / "lake" / dead, (long_ago, long_ago))

    with StagedPartitions(lake, "run-3", duckdb_engine) as staged:
        staged.write("pivot", ["2022-04-03"], _query(3))
        staged.commit()

    assert _listing(project, "pivot") == [
        ".staged/4567abcd-busy/2022-04-02.parquet",
        "2022-04-03.parquet",
    ]
