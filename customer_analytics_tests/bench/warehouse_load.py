"""Step 7 of the bench: the month's profiles loaded into MySQL through the warehouse IO
manager's backend, against the original job's way of loading them.

    python -m customer_analytics_tests.bench.warehouse_load MYSQL_URL duckdb:///WAREHOUSE

Reads customer_content_stats from the pipeline's DuckDB warehouse, then times the warehouse's
replace (LOAD DATA LOCAL INFILE) into an empty partition and over a full one (DELETE + load),
and plain PyMySQL executemany in 10,000-row batches, on tables of its own dropped after. Prints
the figures as JSON.
"""

import json
import sys
import time
from collections.abc import Callable
from datetime import date

import duckdb
import pyarrow as pa
import pymysql
import sqlalchemy as sa

from customer_analytics.io_managers.mysql_warehouse import (
    INSERT_BATCH_ROWS,
    MySQLWarehouse,
    create_table_sql,
    quoted,
)
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS

MONTH = ("month", date(2022, 4, 1), date(2022, 5, 1))
TABLE = "bench_customer_content_stats"
PLAIN_TABLE = "bench_customer_content_stats_executemany"


def _profiles(warehouse_url: str) -> pa.Table:
    path = warehouse_url.removeprefix("duckdb:///")
    with duckdb.connect(path, read_only=True) as connection:
        table = connection.sql("SELECT * FROM customer_content_stats").fetch_arrow_table()
    return table.select(CUSTOMER_CONTENT_STATS.names).cast(CUSTOMER_CONTENT_STATS)


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


def main(url: str, warehouse_url: str) -> None:
    stats = _profiles(warehouse_url)
    warehouse = MySQLWarehouse(url)
    with warehouse.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}, {PLAIN_TABLE}")
        conn.exec_driver_sql(create_table_sql(PLAIN_TABLE, stats.schema))
    figures = {"rows": stats.num_rows}

    def timed(label: str, load: Callable[[], None]) -> None:
        started = time.perf_counter()
        load()
        figures[label] = round(stats.num_rows / (time.perf_counter() - started))
        print(f"{label}: {figures[label]:,} rows/s", flush=True)

    try:
        timed("load_rows_per_second", lambda: warehouse.replace(TABLE, stats, MONTH))
        timed("replace_again_rows_per_second", lambda: warehouse.replace(TABLE, stats, MONTH))
        timed("executemany_rows_per_second", lambda: _plain_executemany(url, stats))
    finally:
        with warehouse.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}, {PLAIN_TABLE}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main(*sys.argv[1:])
