"""The warehouse replaces exactly one partition's rows, all or nothing, on DuckDB and MySQL."""

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics.rules.schemas import CUSTOMER_CONTENT_STATS

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
def warehouse(warehouse_url):
    return connect_warehouse(warehouse_url)


def _contents(warehouse, window=None, table="stats"):
    return sorted(tuple(row.values()) for row in warehouse.read(table, window).to_pylist())


def test_replacing_a_partition_keeps_the_other_partitions(warehouse):
    warehouse.replace("stats", _rows((date(2022, 4, 1), "A", 1), (date(2022, 4, 1), "B", 2)), APRIL)
    warehouse.replace("stats", _rows((date(2022, 5, 1), "A", 3)), MAY)
    warehouse.replace("stats", _rows((date(2022, 4, 1), "C", 5)), APRIL)

    assert _contents(warehouse) == [(date(2022, 4, 1), "C", 5), (date(2022, 5, 1), "A", 3)]
    assert _contents(warehouse, MAY) == [(date(2022, 5, 1), "A", 3)]


def test_a_failed_replacement_leaves_the_previous_rows(warehouse):
    warehouse.replace("stats", _rows((date(2022, 4, 1), "A", 1)), APRIL)
    duplicate_key = _rows((date(2022, 4, 1), "B", 1), (date(2022, 4, 1), "B", 2))

    with pytest.raises(Exception, match=r"(?i)constraint|duplicate"):
        warehouse.replace("stats", duplicate_key, APRIL)

    assert _contents(warehouse) == [(date(2022, 4, 1), "A", 1)]


def test_replacing_the_whole_table(warehouse):
    warehouse.replace("stats", _rows((date(2022, 4, 1), "A", 1), (date(2022, 5, 1), "B", 2)), None)
    warehouse.replace("stats", _rows((date(2022, 5, 1), "C", 3)), None)

    assert _contents(warehouse) == [(date(2022, 5, 1), "C", 3)]


def test_upsert_inserts_new_keys_and_updates_existing_ones(warehouse):
    warehouse.upsert("stats", _rows((date(2022, 4, 1), "A", 1), (date(2022, 4, 1), "B", 2)))
    warehouse.upsert("stats", _rows((date(2022, 4, 1), "B", 20), (date(2022, 5, 1), "B", 3)))

    assert _contents(warehouse) == [
        (date(2022, 4, 1), "A", 1),
        (date(2022, 4, 1), "B", 20),
        (date(2022, 5, 1), "B", 3),
    ]


def test_columns_name_a_table_s_columns_in_order(warehouse):
    assert warehouse.columns("stats") is None

    warehouse.replace("stats", _rows((date(2022, 4, 1), "A", 1)), APRIL)

    assert warehouse.columns("stats") == ["month", "Contract", "Active"]


def test_reading_a_missing_table_with_its_schema_reads_it_empty_and_creates_nothing(warehouse):
    empty = warehouse.read("stats", APRIL, schema=SCHEMA)

    assert empty.num_rows == 0
    assert empty.column_names == SCHEMA.names
    assert warehouse.columns("stats") is None
    with pytest.raises(LookupError, match="stats"):
        warehouse.read("stats", None)


ROUND_TRIP = pa.schema(
    [
        pa.field("month", pa.date32(), nullable=False),
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("keyword", pa.string(), nullable=False),
        pa.field("search_count", pa.int64(), nullable=False),
        pa.field("category", pa.string()),
        pa.field("raw_line", pa.string()),
        pa.field("classified_at", pa.timestamp("us", tz="UTC")),
    ],
    metadata={"primary_key": "month,user_id,keyword"},
)
AWKWARD_LINE = "a\tb\nc\r\nd \\ e \\N \"quoted\" 'single' , ; \\t"


def test_values_come_back_as_they_were_stored(warehouse):
    june = date(2022, 6, 1)
    at = datetime(2022, 6, 30, 23, 59, 58, 123456, tzinfo=UTC)
    rows = pa.Table.from_pylist(
        [
            # Leading zeros and diacritics make different keys.
            {"month": june, "user_id": "0014111", "keyword": "phim hàn", "search_count": 1},
            {"month": june, "user_id": "14111", "keyword": "phim hàn", "search_count": 2},
            {"month": june, "user_id": "14111", "keyword": "phim han", "search_count": 3},
            {
                "month": june,
                "user_id": "007",
                "keyword": "tìm kiếm bằng giọng nói",
                "search_count": 2**62 + 1,
                "category": "Thể Thao",
                "raw_line": AWKWARD_LINE,
                "classified_at": at,
            },
            {"month": june, "user_id": "8", "keyword": "", "search_count": 0, "raw_line": ""},
        ],
        schema=ROUND_TRIP,
    )

    warehouse.replace("round_trip", rows, ("month", june, date(2022, 7, 1)))
    stored = warehouse.read("round_trip", None, schema=ROUND_TRIP)

    def by_key(table):
        return sorted(table.to_pylist(), key=lambda row: (row["user_id"], row["keyword"]))

    assert by_key(stored) == by_key(rows)
    assert stored.schema.field("month").type == pa.date32()
    assert stored.schema.field("search_count").type == pa.int64()
    assert pa.types.is_timestamp(stored.schema.field("classified_at").type)


def test_a_table_without_primary_key_holds_any_rows(warehouse):
    quarantine = pa.schema(
        [pa.field("date", pa.date32(), nullable=False), pa.field("raw_line", pa.string())]
    )
    day = ("date", date(2022, 4, 1), date(2022, 4, 2))
    lines = pa.Table.from_pylist(
        [{"date": day[1], "raw_line": "{"}, {"date": day[1], "raw_line": "{"}], schema=quarantine
    )

    warehouse.replace("quarantine", lines, day)
    warehouse.replace("quarantine", lines, day)

    assert warehouse.read("quarantine", day).num_rows == 2


def test_a_table_with_other_columns_is_a_clear_error(warehouse):
    warehouse.replace("stats", _rows((date(2022, 4, 1), "A", 1)), APRIL)
    wider = _rows((date(2022, 4, 1), "A", 2)).append_column("Days", pa.array([3]))

    with pytest.raises(Exception, match=r"stats\W.*Days"):
        warehouse.replace("stats", wider, APRIL)

    assert _contents(warehouse) == [(date(2022, 4, 1), "A", 1)]


def test_mysql_tables_get_types_keys_indexes_and_a_binary_collation(mysql_url):
    warehouse = connect_warehouse(mysql_url)
    warehouse.replace("stats_ddl", CUSTOMER_CONTENT_STATS.empty_table(), None)

    with warehouse.engine.connect() as conn:
        ddl = conn.exec_driver_sql("SHOW CREATE TABLE stats_ddl").one()[1]
    for expected in (
        "`month` date NOT NULL COMMENT 'First day of the month'",
        "`Contract` varchar(255) NOT NULL",
        "`Total_Truyen_Hinh` bigint(20) NOT NULL",
        "`MostWatch` varchar(255) DEFAULT NULL",
        "PRIMARY KEY (`month`,`Contract`)",
        "KEY `ix_MostWatch` (`MostWatch`)",
        "KEY `ix_Taste` (`Taste`)",
        "ENGINE=InnoDB",
        "COLLATE=utf8mb4_bin",
    ):
        assert expected in ddl
    assert "ix_month" not in ddl  # month leads the primary key already


def test_a_relative_duckdb_url_resolves_against_the_repository_root():
    from customer_analytics.settings import REPO_ROOT, resolve_warehouse_url

    assert (
        resolve_warehouse_url("duckdb:///data/w.duckdb") == f"duckdb:///{REPO_ROOT}/data/w.duckdb"
    )
    assert resolve_warehouse_url("duckdb:////abs/w.duckdb") == "duckdb:////abs/w.duckdb"
