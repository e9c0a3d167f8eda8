"""How fast the MySQL warehouse loads a month of profiles, against the original job's way.

The bench driver calls `measure_mysql_load(url)`; it works in the database of `url` on tables of
its own, dropped at the end, and returns rows per second for each way of loading.
"""

import time
from collections.abc import Callable
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import sqlalchemy as sa

from customer_analytics.io_managers.mysql_warehouse import (
    INSERT_BATCH_ROWS,
    MySQLWarehouse,
    create_table_sql,
    quoted,
)
from customer_analytics.rules.content import CATEGORIES, TOTAL_COLUMNS, most_watch_sql, taste_sql
from customer_analytics.rules.schemas import CUSTOMER_CONTENT_STATS

MONTH = ("month", date(2022, 4, 1), date(2022, 5, 1))
TABLE = "bench_customer_content_stats"
FALLBACK_TABLE = "bench_customer_content_stats_inserts"
PLAIN_TABLE = "bench_customer_content_stats_executemany"
CONTRACT_PREFIXES = ("HNH", "SGH", "DNH", "HPH", "CTH", "BDH", "NAH", "QNH")
# Share of customers who watch each category in a month, and their median seconds.
WATCHING = {
    "Truyen Hinh": (0.85, 40_000),
    "Phim Truyen": (0.35, 15_000),
    "Thieu Nhi": (0.10, 8_000),
    "The Thao": (0.10, 5_000),
    "Giai Tri": (0.05, 3_000),
}


def content_stats_rows(rows: int, seed: int = 0) -> pa.Table:
    """A month of customer_content_stats shaped like the real one, in no particular order."""
    rng = np.random.default_rng(seed)
    digits = max(6, len(str(rows - 1)))
    numbers = pc.utf8_lpad(pc.cast(pa.array(rng.permutation(rows)), pa.string()), digits, "0")
    prefixes = pa.array(rng.choice(CONTRACT_PREFIXES, rows))
    totals = {}
    for column, category in zip(TOTAL_COLUMNS, CATEGORIES, strict=True):
        share, median = WATCHING[category]
        seconds = rng.lognormal(np.log(median), 1.2, rows).astype(np.int64)
        totals[column] = np.where(rng.random(rows) < share, seconds, 0)
    profiles = pa.table(
        {
            "month": pa.array([MONTH[1]] * rows, pa.date32()),
            "Contract": pc.binary_join_element_wise(prefixes, numbers, ""),
            **totals,
            "Active": rng.integers(1, 31, rows),
        }
    )
    # The profile columns by the project's own rules.
    with duckdb.connect() as con:
        con.register("profiles", profiles)
        computed = con.sql(
            f"SELECT *, {most_watch_sql()} AS MostWatch, {taste_sql()} AS Taste FROM profiles"
        ).fetch_arrow_table()
    return computed.select(CUSTOMER_CONTENT_STATS.names).cast(CUSTOMER_CONTENT_STATS)


def _with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


def _plain_executemany(url: str, rows: pa.Table) -> None:
    """The original JDBC job's way: parameterized INSERTs sent in 10,000-row batches."""
    parsed = sa.make_url(url)
    connection = pymysql.connect(
        host=parsed.host,
        port=parsed.port or 3306,
        user=parsed.username,
        password=parsed.password or "",
        database=parsed.database,
        charset="utf8mb4",
    )
    names = ", ".join(map(quoted, rows.column_names))
    values = ", ".join(["%s"] * rows.num_columns)
    with connection, connection.cursor() as cursor:
        for batch in rows.to_batches(max_chunksize=INSERT_BATCH_ROWS):
            cursor.executemany(
                f"INSERT INTO {PLAIN_TABLE} ({names}) VALUES ({values})",
                list(zip(*(column.to_pylist() for column in batch.columns), strict=True)),
            )
        connection.commit()


def measure_mysql_load(url: str, rows: int = 1_000_000) -> list[tuple[str, float]]:
    """Rows per second of: the warehouse's replace (LOAD DATA LOCAL INFILE) into an empty
    partition and over a full one (DELETE + load), its multi-row INSERT fallback, and plain
    PyMySQL executemany in 10,000-row batches."""
    stats = content_stats_rows(rows)
    warehouse = MySQLWarehouse(url)
    fallback = MySQLWarehouse(_with_query(url, "local_infile=0"))
    with warehouse.engine.begin() as conn:
        conn.exec_driver_sql(create_table_sql(PLAIN_TABLE, stats.schema))

    figures = []

    def timed(label: str, load: Callable[[], None]) -> None:
        started = time.perf_counter()
        load()
        figures.append((label, rows / (time.perf_counter() - started)))

    try:
        timed("replace, LOAD DATA LOCAL INFILE", lambda: warehouse.replace(TABLE, stats, MONTH))
        timed("replace again (DELETE + LOAD DATA)", lambda: warehouse.replace(TABLE, stats, MONTH))
        timed(
            "replace, multi-row INSERT fallback",
            lambda: fallback.replace(FALLBACK_TABLE, stats, MONTH),
        )
        timed(
            "plain PyMySQL executemany, 10,000-row batches", lambda: _plain_executemany(url, stats)
        )
    finally:
        with warehouse.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}, {FALLBACK_TABLE}, {PLAIN_TABLE}")
    return figures
