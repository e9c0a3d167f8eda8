"""SQL over Arrow with DuckDB: Arrow in, Arrow out, one in-memory connection per call.

DuckDB scans Arrow tables and lazy Arrow datasets in place, so a month of daily partitions is
streamed from the lake rather than loaded whole.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

ArrowSource = pa.Table | ds.Dataset


@contextmanager
def _connection(sources: dict[str, ArrowSource]) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection where each source is a view under its name."""
    with duckdb.connect() as con:
        for name, source in sources.items():
            con.register(name, source)
        yield con


def query(sql: str, schema: pa.Schema, **sources: ArrowSource) -> pa.Table:
    """Runs `sql` with each source registered under its keyword name; casts to `schema`."""
    with _connection(sources) as con:
        return con.sql(sql).to_arrow_table().cast(schema)


@dataclass(frozen=True)
class ParsedDay:
    """A day of raw log, split into the rows that pass every rule and those quarantined."""

    valid: pa.Table
    quarantine: pa.Table


def first_failing_reason_sql(conditions: Mapping[str, str], reasons: Sequence[str]) -> str:
    """A CASE naming the first of `reasons` whose condition holds, NULL when none does.

    The order comes from `reasons` alone (a rules module's QUARANTINE_REASONS); `conditions`
    must give a condition for each reason and for nothing else.
    """
    if set(conditions) != set(reasons) or len(set(reasons)) != len(reasons):
        raise ValueError(f"Conditions {sorted(conditions)} do not match the reasons {reasons}")
    branches = " ".join(f"WHEN {conditions[reason]} THEN '{reason}'" for reason in reasons)
    return f"CASE {branches} END"


def split_by_reason(
    checked_sql: str,
    *,
    valid_columns: str,
    quarantine_columns: str,
    order_by: str,
    valid_schema: pa.Schema,
    quarantine_schema: pa.Schema,
    **sources: ArrowSource,
) -> ParsedDay:
    """Runs `checked_sql`, whose `reason` column is NULL for a valid row, once, and splits it."""
    with _connection(sources) as con:
        con.execute(f"CREATE TEMP TABLE checked AS {checked_sql}")

        def select(columns: str, where: str) -> pa.Table:
            sql = f"SELECT {columns} FROM checked WHERE {where} ORDER BY {order_by}"
            return con.sql(sql).to_arrow_table()

        return ParsedDay(
            valid=select(valid_columns, "reason IS NULL").cast(valid_schema),
            quarantine=select(quarantine_columns, "reason IS NOT NULL").cast(quarantine_schema),
        )


def one_row(sql: str, **sources: ArrowSource) -> dict:
    """The single row of an aggregate query, as a dict of Python values."""
    with _connection(sources) as con:
        relation = con.sql(sql)
        return dict(zip(relation.columns, relation.fetchone(), strict=True))
