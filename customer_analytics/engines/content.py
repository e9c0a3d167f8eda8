"""The viewing-log transforms, run by DuckDB over Arrow."""

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.engines.arrow_sql import ArrowSource, ParsedDay, query, split_by_reason
from customer_analytics.rules import schemas
from customer_analytics.rules.content import (
    CATEGORIES,
    TOTAL_COLUMNS,
    category_sql,
    invalid_contract_sql,
    most_watch_sql,
    taste_sql,
)


def split_lines(data: bytes) -> pa.Table:
    """The physical lines of a newline-delimited file, numbered from 1, line endings removed.

    The lines are cut out of the file's own buffer (no copy per line). Bytes that are not UTF-8
    are replaced rather than failing the day; such a line then fails validation on its own.
    """
    buffer = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buffer == ord("\n")) + 1
    if len(data) and data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    lines = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return split_lines(data.decode("utf-8", errors="replace").encode())
    return pa.table(
        {
            "line_number": np.arange(1, len(ends) + 1, dtype=np.int64),
            "raw_line": pc.utf8_rtrim(lines, "\r\n").cast(pa.string()),
        }
    )


# DuckDB's parser also accepts trailing commas and NaN/Infinity, which strict JSON parsers (and
# so the original Spark job) reject; such lines are malformed here too.
LENIENT_JSON = r",\s*[}\]]|[:,\[]\s*-?(NaN|Infinity)\s*[,}\]]"

# One JSON parse per line: the hit's envelope, then its `_source`, as typed structs.
HIT_SHAPE = '{"_id": "VARCHAR", "_source": "JSON"}'
SOURCE_SHAPE = (
    '{"Contract": "VARCHAR", "Mac": "VARCHAR", "AppName": "VARCHAR", "TotalDuration": "JSON"}'
)


def parse_content_day(lines: pa.Table, day: date) -> ParsedDay:
    """Validates one day of the viewing log: valid records and rejected lines with their reason."""
    sql = f"""
        WITH hits AS (
            SELECT line_number, raw_line,
                   try(json_type(raw_line)) = 'OBJECT'
                       AND NOT regexp_matches(raw_line, '{LENIENT_JSON}') AS is_object,
                   try(from_json(raw_line, '{HIT_SHAPE}')) AS hit
            FROM lines
        ), fields AS (
            SELECT line_number, raw_line, is_object,
                   hit._id AS _id,
                   json_type(hit._source) = 'OBJECT' AS has_source,
                   from_json(hit._source, '{SOURCE_SHAPE}') AS source
            FROM hits
        ), typed AS (
            SELECT line_number, raw_line, is_object, has_source, _id,
                   trim(source.Contract) AS Contract,
                   source.Mac AS Mac,
                   source.AppName AS AppName,
                   CASE
                       WHEN json_type(source.TotalDuration) IN ('BIGINT', 'UBIGINT')
                         OR (json_type(source.TotalDuration) = 'VARCHAR'
                             AND regexp_full_match(trim(source.TotalDuration->>'$'), '[0-9]+'))
                       THEN TRY_CAST(trim(source.TotalDuration->>'$') AS BIGINT)
                   END AS TotalDuration,
                   {category_sql("source.AppName")} AS category,
                   _id IS NOT NULL AND row_number() OVER (
                       PARTITION BY _id ORDER BY line_number) > 1 AS repeated_id
            FROM fields
        )
        SELECT *,
               CASE
                   WHEN is_object IS NOT TRUE THEN 'malformed_json'
                   WHEN has_source IS NOT TRUE THEN 'missing_source'
                   WHEN {invalid_contract_sql("Contract")} THEN 'invalid_contract'
                   WHEN TotalDuration IS NULL OR TotalDuration < 0 THEN 'invalid_duration'
                   WHEN category IS NULL THEN 'unknown_app'
                   WHEN repeated_id THEN 'duplicate_id'
               END AS reason
        FROM typed
    """
    day_literal = f"DATE '{day.isoformat()}'"
    return split_by_reason(
        sql,
        valid_columns=f"{day_literal} AS date, Contract, Mac, AppName, category, TotalDuration, _id",
        quarantine_columns=f"{day_literal} AS date, line_number, reason, raw_line",
        order_by="line_number",
        valid_schema=schemas.RAW_LOG_CONTENT,
        quarantine_schema=schemas.CONTENT_QUARANTINE,
        lines=lines,
    )


def daily_pivot(raw_log_content: ArrowSource) -> pa.Table:
    """Seconds per category for each (date, Contract) with a valid record that day."""
    totals = ", ".join(
        f"CAST(sum(CASE WHEN category = '{category}' THEN TotalDuration ELSE 0 END) AS BIGINT) AS {column}"
        for category, column in zip(CATEGORIES, TOTAL_COLUMNS, strict=True)
    )
    return query(
        f"SELECT date, Contract, {totals} FROM raw GROUP BY date, Contract ORDER BY date, Contract",
        schemas.DAILY_PIVOT,
        raw=raw_log_content,
    )


def customer_content_stats(daily_pivot: ArrowSource) -> pa.Table:
    """The monthly profile of every contract: totals, active days, MostWatch and Taste."""
    sums = ", ".join(f"CAST(sum({column}) AS BIGINT) AS {column}" for column in TOTAL_COLUMNS)
    return query(
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
