"""The embedded warehouse: a DuckDB file."""

import time
from pathlib import Path

import duckdb
import pyarrow as pa

from customer_analytics.rules.schemas import primary_key

# DuckDB lets one process hold a database file; another step may hold it for a moment.
LOCK_WAIT_SECONDS = 120


def duckdb_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "VARCHAR"
    raise TypeError(f"No warehouse type for Arrow type {arrow_type}")


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(table: str, schema: pa.Schema) -> str:
    columns = [
        f"{quoted(field.name)} {duckdb_type(field.type)}{'' if field.nullable else ' NOT NULL'}"
        for field in schema
    ]
    key = [column for column in primary_key(schema) if column]
    if key:
        columns.append(f"PRIMARY KEY ({', '.join(map(quoted, key))})")
    return f"CREATE TABLE IF NOT EXISTS {quoted(table)} ({', '.join(columns)})"


class DuckDBWarehouse:
    def __init__(self, path: str):
        self.path = path

    def _connect(self) -> duckdb.DuckDBPyConnection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return duckdb.connect(self.path)
            except duckdb.IOException as error:
                if "lock" not in str(error).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _write(self, table: str, rows: pa.Table, statements: list[tuple[str, list]]) -> None:
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(create_table_sql(table, rows.schema))
                con.register("incoming", rows)
                for sql, parameters in statements:
                    con.execute(sql, parameters)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    @staticmethod
    def _insert(verb: str, table: str, rows: pa.Table) -> tuple[str, list]:
        names = ", ".join(map(quoted, rows.column_names))
        return f"{verb} INTO {quoted(table)} ({names}) SELECT {names} FROM incoming", []

    def replace(self, table: str, rows: pa.Table, window) -> None:
        if window is None:
            delete = (f"DELETE FROM {quoted(table)}", [])
        else:
            column, start, end = window
            delete = (
                f"DELETE FROM {quoted(table)} WHERE {quoted(column)} >= ? AND {quoted(column)} < ?",
                [start, end],
            )
        self._write(table, rows, [delete, self._insert("INSERT", table, rows)])

    def upsert(self, table: str, rows: pa.Table) -> None:
        self._write(table, rows, [self._insert("INSERT OR REPLACE", table, rows)])

    def read(self, table: str, window, schema: pa.Schema | None = None) -> pa.Table:
        with self._connect() as con:
            if schema is not None:
                con.execute(create_table_sql(table, schema))
            if window is None:
                return con.sql(f"SELECT * FROM {quoted(table)}").to_arrow_table()
            column, start, end = window
            return con.execute(
                f"SELECT * FROM {quoted(table)} WHERE {quoted(column)} >= ? AND {quoted(column)} < ?",
                [start, end],
            ).fetch_arrow_table()

    def columns(self, table: str) -> list[str] | None:
        with self._connect() as con:
            names = con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [table],
            ).fetchall()
        return [name for (name,) in names] or None
