"""The warehouse replaces exactly one partition's rows, all or nothing."""

from datetime import date

import pyarrow as pa
import pytest

from customer_analytics.io_managers.warehouse import connect_warehouse

SCHEMA = pa.schema(
    [
        pa.field("month", pa.date32(), nullable=False),
        pa.field("Contract", pa.string(), nullable=False),
        pa.field("Active", pa.int64(), nullable=False),
    ],
    metadata={"primary_key": "month,Contract"},
)
APRIL = ("month", date(2022, 4, 1), date(2022, 5, 1))
MAY = ("month", date(2022, 5, 1), date(2022, 6, 1))


def _rows(*rows) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"month": month, "Contract": contract, "Active": active}
            for month, contract, active in rows
        ],
        schema=SCHEMA,
    )


@pytest.fixture
def warehouse(tmp_path):
    return connect_warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")


def _contents(warehouse, window=None):
    return sorted(tuple(row.values()) for row in warehouse.read("stats", window).to_pylist())


def test_replacing_a_partition_keeps_the_other_partitions(warehouse):
    warehouse.replace("stats", _rows((date(2022, 4, 1), "A", 1), (date(2022, 4, 1), "B", 2)), APRIL)
    warehouse.replace("stats", _rows((date(2022, 5, 1), "A", 3)), MAY)
    warehouse.replace("stats", _rows((date(2022, 4, 1), "C", 5)), APRIL)

    assert _contents(warehouse) == [(date(2022, 4, 1), "C", 5), (date(2022, 5, 1), "A", 3)]
    assert _contents(warehouse, MAY) == [(date(2022, 5, 1), "A", 3)]


def test_a_failed_replacement_leaves_the_previous_rows(warehouse):
    warehouse.replace("stats", _rows((date(2022, 4, 1), "A", 1)), APRIL)
    duplicate_key = _rows((date(2022, 4, 1), "B", 1), (date(2022, 4, 1), "B", 2))

    with pytest.raises(Exception, match=r"(?i)constraint"):
        warehouse.replace("stats", duplicate_key, APRIL)

    assert _contents(warehouse) == [(date(2022, 4, 1), "A", 1)]


def test_a_relative_duckdb_url_resolves_against_the_repository_root():
    from customer_analytics.settings import REPO_ROOT, resolve_warehouse_url

    assert (
        resolve_warehouse_url("duckdb:///data/w.duckdb") == f"duckdb:///{REPO_ROOT}/data/w.duckdb"
    )
    assert resolve_warehouse_url("duckdb:////abs/w.duckdb") == "duckdb:////abs/w.duckdb"
