"""The Parquet lake: one file per partition, range outputs split, whole files only."""

from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from customer_analytics.engines.base import LakeFiles
from customer_analytics.io_managers import ParquetIOManager
from customer_analytics.lib.lake import Lake

DAILY = dg.DailyPartitionsDefinition(start_date="2022-04-01", end_date="2022-05-01")
RANGE = {
    "dagster/asset_partition_range_start": "2022-04-01",
    "dagster/asset_partition_range_end": "2022-04-03",
}


def _events(rows: list[dict]):
    @dg.asset(
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "date"},
    )
    def events() -> pa.Table:
        schema = pa.schema([("date", pa.date32()), ("value", pa.int64())])
        return pa.Table.from_pylist(rows, schema=schema)

    return events


@dg.asset(
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="memory",
)
def total(events: LakeFiles) -> int:
    return sum(events.dataset().to_table()["value"].to_pylist())


def _materialize(assets, tmp_path, **kwargs):
    return dg.materialize(
        assets,
        resources={
            "io_manager": ParquetIOManager(lake=Lake(uri=str(tmp_path))),
            "memory": dg.InMemoryIOManager(),
        },
        **kwargs,
    )


def test_a_range_is_split_into_one_file_per_partition(tmp_path):
    rows = [
        {"date": date(2022, 4, 1), "value": 1},
        {"date": date(2022, 4, 3), "value": 30},
        {"date": date(2022, 4, 1), "value": 2},
    ]
    assert _materialize([_events(rows)], tmp_path, tags=RANGE).success

    files = sorted(path.name for path in (tmp_path / "events").iterdir())
    assert files == ["2022-04-01.parquet", "2022-04-02.parquet", "2022-04-03.parquet"]
    assert pq.read_table(tmp_path / "events" / "2022-04-01.parquet")["value"].to_pylist() == [1, 2]
    assert pq.read_table(tmp_path / "events" / "2022-04-02.parquet").num_rows == 0
    assert pq.read_table(tmp_path / "events" / "2022-04-03.parquet")["value"].to_pylist() == [30]


def test_rewriting_one_partition_leaves_the_others(tmp_path):
    first = [{"date": date(2022, 4, day), "value": day} for day in (1, 2, 3)]
    assert _materialize([_events(first)], tmp_path, tags=RANGE).success
    again = [{"date": date(2022, 4, 2), "value": 200}]
    assert _materialize([_events(again)], tmp_path, partition_key="2022-04-02").success

    values = ds.dataset(tmp_path / "events", format="parquet").to_table()["value"].to_pylist()
    assert sorted(values) == [1, 3, 200]
    assert not list(tmp_path.rglob("*.tmp"))


def test_inputs_load_the_requested_range(tmp_path):
    rows = [{"date": date(2022, 4, day), "value": day * 10} for day in (1, 2, 3)]
    result = _materialize([_events(rows), total], tmp_path, tags=RANGE)
    assert result.output_for_node("total") == 60


def test_rows_outside_the_partitions_fail_and_write_nothing(tmp_path):
    rows = [{"date": date(2022, 4, 1), "value": 1}, {"date": date(2022, 4, 9), "value": 9}]
    with pytest.raises(dg.DagsterInvariantViolationError, match="1 rows of events have a date"):
        _materialize([_events(rows)], tmp_path, partition_key="2022-04-01")
    assert not (tmp_path / "events").exists()


def test_loading_a_partition_never_materialized_names_the_file(tmp_path):
    rows = [{"date": date(2022, 4, 1), "value": 1}]
    assert _materialize([_events(rows)], tmp_path, partition_key="2022-04-01").success
    with pytest.raises(dg.DagsterInvariantViolationError, match=r"events/2022-04-02\.parquet"):
        _materialize(
            [_events(rows), total], tmp_path, partition_key="2022-04-02", selection=[total]
        )
