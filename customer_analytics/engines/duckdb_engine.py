"""The transforms on DuckDB: Arrow in, Arrow out, one in-memory connection per call.

DuckDB scans Arrow tables and lazy Arrow datasets in place, so a month of daily partitions is
streamed from the lake rather than loaded whole.
"""

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from customer_analytics.rules import schemas
from customer_analytics.rules.content import (
    CATEGORIES,
    TOTAL_COLUMNS,
    category_sql,
    invalid_contract_sql,
    most_watch_sql,
    taste_sql,
)

ArrowSource = pa.Table | ds.Dataset


def _query(sql: str, schema: pa.Schema, **sources: ArrowSource) -> pa.Table:
    with duckdb.connect() as con:
        for name, source in sources.items():
            con.register(name, source)
        return con.sql(sql).to_arrow_table().cast(schema)


def split_lines(data: bytes) -> pa.Table:
    """The physical lines of a newline-delimited file, numbered from 1, line endings removed.

    Bytes that are not UTF-8 are replaced rather than failing the day; such a line then fails
    validation on its own.
    """
    text = data.decode("utf-8", errors="replace").removesuffix("\n")
    if not text:
        return pa.table(
            {"line_number": pa.array([], pa.int64()), "raw_line": pa.array([], pa.string())}
        )
    lines = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n"))
    lines = pc.utf8_rtrim(lines, "\r").cast(pa.string())
    return pa.table(
        {"line_number": pa.array(range(1, len(lines) + 1), pa.int64()), "raw_line": lines}
    )


@dataclass(frozen=True)
class ParsedDay:
    valid: pa.Table
    quarantine: pa.Table


def parse_content_day(lines: pa.Table, day: date) -> ParsedDay:
    """Validates one day of the viewing log: valid records and rejected lines with their reason."""
    sql = f"""
        WITH documents AS (
            SELECT line_number, raw_line,
                   CASE WHEN json_valid(raw_line) THEN raw_line::JSON END AS doc
            FROM lines
        ), objects AS (
            SELECT line_number, raw_line,
                   CASE WHEN json_type(doc) = 'OBJECT' THEN doc END AS doc
            FROM documents
        ), fields AS (
            SELECT line_number, raw_line, doc,
                   json_type(doc, '$._source') = 'OBJECT' AS has_source,
                   json_extract_string(doc, '$._id') AS _id,
                   trim(json_extract_string(doc, '$._source.Contract')) AS Contract,
                   json_extract_string(doc, '$._source.Mac') AS Mac,
                   json_extract_string(doc, '$._source.AppName') AS AppName,
                   json_type(doc, '$._source.TotalDuration') AS duration_type,
                   trim(json_extract_string(doc, '$._source.TotalDuration')) AS duration_text
            FROM objects
        ), typed AS (
            SELECT *,
                   CASE
                       WHEN duration_type IN ('BIGINT', 'UBIGINT')
                         OR (duration_type = 'VARCHAR' AND regexp_full_match(duration_text, '[0-9]+'))
                       THEN TRY_CAST(duration_text AS BIGINT)
                   END AS TotalDuration,
                   {category_sql("AppName")} AS category,
                   _id IS NOT NULL AND row_number() OVER (
                       PARTITION BY _id ORDER BY line_number) > 1 AS repeated_id
            FROM fields
        )
        SELECT *,
               CASE
                   WHEN doc IS NULL THEN 'malformed_json'
                   WHEN has_source IS NOT TRUE THEN 'missing_source'
                   WHEN {invalid_contract_sql("Contract")} THEN 'invalid_contract'
                   WHEN TotalDuration IS NULL OR TotalDuration < 0 THEN 'invalid_duration'
                   WHEN category IS NULL THEN 'unknown_app'
                   WHEN repeated_id THEN 'duplicate_id'
               END AS reason
        FROM typed
    """
    with duckdb.connect() as con:
        con.register("lines", lines)
        con.execute(f"CREATE TEMP TABLE checked AS {sql}")
        day_literal = f"DATE '{day.isoformat()}'"
        valid = con.sql(
            f"""SELECT {day_literal} AS date, Contract, Mac, AppName, category, TotalDuration, _id
                FROM checked WHERE reason IS NULL ORDER BY line_number"""
        ).to_arrow_table()
        quarantine = con.sql(
            f"""SELECT {day_literal} AS date, line_number, reason, raw_line
                FROM checked WHERE reason IS NOT NULL ORDER BY line_number"""
        ).to_arrow_table()
    return ParsedDay(
        valid=valid.cast(schemas.RAW_LOG_CONTENT),
        quarantine=quarantine.cast(schemas.CONTENT_QUARANTINE),
    )


def daily_pivot(raw_log_content: ArrowSource) -> pa.Table:
    """Seconds per category for each (date, Contract) with a valid record that day."""
    totals = ", ".join(
        f"CAST(sum(CASE WHEN category = '{category}' THEN TotalDuration ELSE 0 END) AS BIGINT) AS {column}"
        for category, column in zip(CATEGORIES, TOTAL_COLUMNS, strict=True)
    )
    return _query(
        f"SELECT date, Contract, {totals} FROM raw GROUP BY date, Contract ORDER BY date, Contract",
        schemas.DAILY_PIVOT,
        raw=raw_log_content,
    )


def customer_content_stats(daily_pivot: ArrowSource) -> pa.Table:
    """The monthly profile of every contract: totals, active days, MostWatch and Taste."""
    sums = ", ".join(f"CAST(sum({column}) AS BIGINT) AS {column}" for column in TOTAL_COLUMNS)
    return _query(
        f"""
        WITH monthly AS (
            SELECT CAST(date_trunc('month', date) AS DATE) AS month, Contract, {sums},
                   count(DISTINCT date) AS Active
            FROM daily GROUP BY 1, 2
        )
        SELECT month, Contract, {", ".join(TOTAL_COLUMNS)}, Active,
               {most_watch_sql()} AS MostWatch, {taste_sql()} AS Taste
        FROM monthly ORDER BY month, Contract
        """,
        schemas.CUSTOMER_CONTENT_STATS,
        daily=daily_pivot,
    )
