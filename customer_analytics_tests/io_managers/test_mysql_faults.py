"""MySQL under faults: a load killed half-way leaves the previous rows, a retry loads the new
ones, and readers never see a partition empty or doubled while it is replaced."""

import contextlib
import logging
import threading
import time
from datetime import date

import pyarrow as pa
import pymysql
import pytest
import sqlalchemy as sa

from customer_analytics.io_managers.mysql_warehouse import MySQLWarehouse

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
# Big enough for the load to run for a good fraction of a second, so that it can be caught.
BIG_LOAD_ROWS = 200_000
WAIT_SECONDS = 30


def _rows(window, count: int, active: int) -> pa.Table:
    return pa.table(
        {
            "month": pa.array([window[1]] * count, pa.date32()),
            "Contract": pa.array([f"HNH{n:06d}" for n in range(count)]),
            "Active": pa.array([active] * count, pa.int64()),
        },
        schema=SCHEMA,
    )


def _connect(mysql_url: str) -> pymysql.Connection:
    return pymysql.connect(
        host="127.0.0.1", user="root", database=mysql_url.rsplit("/", 1)[1], autocommit=True
    )


def _partition(mysql_url: str, table: str, window) -> tuple[int, int]:
    """(rows, sum of Active) of the window, as a separate reader sees them."""
    with _connect(mysql_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(Active), 0) FROM {table} "
            "WHERE month >= %s AND month < %s",
            window[1:],
        )
        rows, active = cursor.fetchone()
    return rows, int(active)


@contextlib.contextmanager
def _killing_the_load(mysql_url: str):
    """Kills, from a second connection, the connection that runs LOAD DATA in the database."""
    killed = threading.Event()

    def kill() -> None:
        with _connect(mysql_url) as conn, conn.cursor() as cursor:
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT ID FROM information_schema.PROCESSLIST "
                    "WHERE DB = DATABASE() AND INFO LIKE 'LOAD DATA%%'"
                )
                if found := cursor.fetchone():
                    cursor.execute(f"KILL CONNECTION {found[0]}")
                    killed.set()
                    return
                time.sleep(0.005)

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        yield
    finally:
        killer.join(WAIT_SECONDS)
    assert killed.is_set(), "the load ended before it could be killed"


def test_a_killed_load_leaves_the_previous_rows_and_a_retry_loads_the_new_ones(mysql_url, caplog):
    table = "killed_load"
    # A killed connection's server may stop reading the upload without closing the socket.
    url = mysql_url + "?write_timeout=2"
    MySQLWarehouse(url).replace(table, _rows(APRIL, 1_000, active=1), APRIL)
    MySQLWarehouse(url).replace(table, _rows(MAY, 10, active=5), MAY)
    new = _rows(APRIL, BIG_LOAD_ROWS, active=2)

    with _killing_the_load(mysql_url), pytest.raises(sa.exc.DBAPIError):
        MySQLWarehouse(url, retries=0).replace(table, new, APRIL)
    assert _partition(mysql_url, table, APRIL) == (1_000, 1_000)

    with caplog.at_level(logging.WARNING), _killing_the_load(mysql_url):
        MySQLWarehouse(url, retries=2).replace(table, new, APRIL)
    assert "retry 1 of 2" in caplog.text
    assert _partition(mysql_url, table, APRIL) == (BIG_LOAD_ROWS, 2 * BIG_LOAD_ROWS)
    assert _partition(mysql_url, table, MAY) == (10, 50)


def test_readers_never_see_a_partition_empty_or_doubled(mysql_url):
    table, rows, rounds = "reread", 5_000, 15
    warehouse = MySQLWarehouse(mysql_url)
    warehouse.replace(table, _rows(APRIL, rows, active=0), APRIL)
    counts: list[int] = []
    done = threading.Event()

    def count_in_a_loop() -> None:
        with _connect(mysql_url) as conn, conn.cursor() as cursor:
            deadline = time.monotonic() + WAIT_SECONDS
            while not done.is_set() and time.monotonic() < deadline:
                cursor.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE month >= %s AND month < %s", APRIL[1:]
                )
                counts.append(cursor.fetchone()[0])

    reader = threading.Thread(target=count_in_a_loop)
    reader.start()
    try:
        for active in range(1, rounds + 1):
            warehouse.replace(table, _rows(APRIL, rows, active), APRIL)
    finally:
        done.set()
        reader.join(WAIT_SECONDS)

    assert set(counts) == {rows}
    assert len(counts) > rounds, "the reader did not overlap the replacements"
    assert _partition(mysql_url, table, APRIL) == (rows, rows * rounds)


def test_a_refused_local_infile_falls_back_to_inserts_and_says_so_once(mysql_url, caplog):
    # The client withholds local files here; a server with local_infile=0 refuses alike.
    warehouse = MySQLWarehouse(mysql_url + "?local_infile=0")

    with caplog.at_level(logging.WARNING):
        warehouse.replace("refused", _rows(APRIL, 25_000, active=1), APRIL)
        warehouse.replace("refused", _rows(APRIL, 30_000, active=2), APRIL)

    assert caplog.text.count("LOAD DATA LOCAL INFILE is refused") == 1
    assert "local_infile=0" in caplog.text
    assert _partition(mysql_url, "refused", APRIL) == (30_000, 60_000)
