"""The embedded warehouse: a DuckDB file, reached through dagster-duckdb's `DuckDBResource`.

A write holds the file for one transaction; a read opens it read-only. DuckDB lets one process
write a file at a time: `DuckDBResource` waits with backoff while another step holds it.
"""

from pathlib import Path

import pyarrow as pa
from dagster_duckdb import DuckDBResource

from customer_analytics.rules.tables import primary_key


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
        self.writer = DuckDBResource(database=path)
        self.reader = DuckDBResource(database=path, connection_config={"access_mode": "READ_ONLY"})

    def _write(self, table: str, rows: pa.Table, statements: list[tuple[str, list]]) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self.writer.get_connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(create_table_sql(table, rows.schema))
                con.register("incoming", rows)
                for sql, parameters in statements:
                    con.execute(sql, parameters)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                # get_connection closes only when its block succeeds: an open writer left
                # behind would refuse this process any read-only connection to the file.
                con.close()
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

    def columns(self, table: str) -> list[str] | None:
        if not Path(self.path).exists():
            return None
        with self.reader.get_connection() as con:
            names = con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [table],
            ).fetchall()
        return [name for (name,) in names] or None

    def read(self, table: str, window, schema: pa.Schema | None = None) -> pa.Table:
        if self.columns(table) is None:
            if schema is None:
                raise LookupError(f"Warehouse table {table} does not exist in {self.path}")
            return schema.empty_table()
        with self.reader.get_connection() as con:
            if window is None:
                return con.sql(f"SELECT * FROM {quoted(table)}").to_arrow_table()
            column, start, end = window
            return con.execute(
                f"SELECT * FROM {quoted(table)} WHERE {quoted(column)} >= ? AND {quoted(column)} < ?",
                [start, end],
            ).fetch_arrow_table()
