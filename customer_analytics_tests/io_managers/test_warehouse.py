"""The warehouse replaces exactly one partition's rows, all or nothing, on DuckDB and MySQL."""

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS, CUSTOMER_SEARCH_STATS

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
        "ENGINE=InnoDB",
        "COLLATE=utf8mb4_bin",
    ):
        assert expected in ddl
    assert "ix_month" not in ddl  # month leads the primary key already
    assert "KEY `ix_" not in ddl  # MostWatch and Taste have a few values each: no index


def test_a_relative_duckdb_url_resolves_against_the_repository_root():
    from customer_analytics.settings import REPO_ROOT, resolve_warehouse_url

    assert (
        resolve_warehouse_url("duckdb:///data/w.duckdb") == f"duckdb:///{REPO_ROOT}/data/w.duckdb"
    )
    assert resolve_warehouse_url("duckdb:////abs/w.duckdb") == "duckdb:////abs/w.duckdb"


# The longest values the rules let through (docs/contract.md §3): 255 characters of Contract and
# user_id, 500 of keyword; "\u1ee9" takes 3 bytes in UTF-8, so the second Contract is 765 bytes.
CONTRACT_255 = "HNH" + "0123456789" * 25 + "01"
CONTRACT_255_WIDE = "\u1ee9" * 255
USER_ID_255 = "0" + "0123456789" * 25 + "1234"
KEYWORD_500 = "phim h\u00e0n " * 55 + "conan"
KEYWORD_500_WIDE = "\u0111" * 500


def test_fixture_lengths_are_what_they_claim():
    assert [len(CONTRACT_255), len(CONTRACT_255_WIDE), len(USER_ID_255)] == [255, 255, 255]
    assert len(CONTRACT_255_WIDE.encode()) == 765
    assert [len(KEYWORD_500), len(KEYWORD_500_WIDE)] == [500, 500]


def test_a_contract_of_255_characters_is_stored_and_read_back(warehouse):
    april = date(2022, 4, 1)
    totals = dict.fromkeys(
        ["Total_Giai_Tri", "Total_Phim_Truyen", "Total_The_Thao", "Total_Thieu_Nhi"], 0
    )
    rows = pa.Table.from_pylist(
        [
            {"month": april, "Contract": CONTRACT_255, **totals, "Total_Truyen_Hinh": 254,
             "Active": 1, "MostWatch": "Truyen Hinh", "Taste": "Truyen Hinh"},
            {"month": april, "Contract": CONTRACT_255_WIDE, **totals, "Total_Truyen_Hinh": 0,
             "Active": 2, "MostWatch": None, "Taste": None},
        ],
        schema=CUSTOMER_CONTENT_STATS,
    )  # fmt: skip

    warehouse.replace("customer_content_stats", rows, APRIL)
    stored = warehouse.read("customer_content_stats", APRIL, schema=CUSTOMER_CONTENT_STATS)

    def by_contract(table):
        return sorted(table.to_pylist(), key=lambda row: row["Contract"])

    assert by_contract(stored) == by_contract(rows)
    assert sorted(len(contract) for contract in stored.column("Contract").to_pylist()) == [255, 255]


def test_a_user_id_of_255_and_keywords_of_500_characters_are_stored_and_read_back(warehouse):
    july = date(2022, 7, 1)
    rows = pa.Table.from_pylist(
        [
            {"month": july, "user_id": USER_ID_255, "keyword_prev": KEYWORD_500,
             "category_prev": "K Drama", "keyword_cur": KEYWORD_500_WIDE,
             "category_cur": "Sports", "taste": "Changed"},
        ],
        schema=CUSTOMER_SEARCH_STATS,
    )  # fmt: skip

    warehouse.replace("customer_search_stats", rows, ("month", july, date(2022, 8, 1)))
    stored = warehouse.read("customer_search_stats", None, schema=CUSTOMER_SEARCH_STATS)

    assert stored.to_pylist() == rows.to_pylist()
