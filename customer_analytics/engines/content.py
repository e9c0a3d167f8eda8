"""The viewing-log transforms, run by DuckDB over Arrow."""

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.engines.arrow_sql import (
    ArrowSource,
    ParsedDay,
    first_failing_reason_sql,
    query,
    split_by_reason,
)
from customer_analytics.rules import schemas
from customer_analytics.rules.content import (
    CATEGORIES,
    QUARANTINE_REASONS,
    TOTAL_COLUMNS,
    category_sql,
    contract_too_long_sql,
    invalid_contract_sql,
    most_watch_sql,
    taste_sql,
)
from customer_analytics.rules.text import trimmed_sql

UTF8_BOM = b"\xef\xbb\xbf"


def split_lines(data: bytes) -> pa.Table:
    """The physical lines of a newline-delimited file, numbered from 1, line endings removed.

    The lines are cut out of the file's own buffer (no copy per line). A UTF-8 byte-order mark
    that starts the file is not part of line 1. Bytes that are not UTF-8 are replaced rather than
    failing the day; such a line then fails validation on its own.
    """
    start = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
    buffer = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buffer == ord("\n")) + 1
    if len(data) > start and data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    offsets = np.concatenate([[start], ends]).astype(np.int64)
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


# DuckDB's JSON parser, which has no strict mode, also takes trailing commas and NaN/Infinity (any
# case, `nan` and `inf` too), which JSON (RFC 8259) does not; such lines are malformed here. A line
# the parser took is made of well-formed string tokens and the tokens between them, so this
# pattern steps over every string token whole (escapes included) and finds a trailing comma or a
# non-finite literal only outside strings, where the parser read it: never inside a value such as
# "HNH, }" or "NaN]".
NOT_STRICT_JSON = r'^(?:[^"]|"(?:[^"\\]|\\.)*")*(?:,\s*[}\]]|[Nn][Aa][Nn]|[Ii][Nn][Ff])'

# One JSON parse per line: the hit's envelope, then its `_source`, as typed structs.
HIT_SHAPE = '{"_id": "VARCHAR", "_source": "JSON"}'
SOURCE_SHAPE = (
    '{"Contract": "VARCHAR", "Mac": "VARCHAR", "AppName": "VARCHAR", "TotalDuration": "JSON"}'
)


# When a line fails each rule, over the columns of `typed` below.
REASON_CONDITIONS = {
    "malformed_json": "is_object IS NOT TRUE",
    "missing_source": "has_source IS NOT TRUE",
    "invalid_contract": invalid_contract_sql("Contract"),
    "contract_too_long": contract_too_long_sql("Contract"),
    "invalid_duration": "TotalDuration IS NULL OR TotalDuration < 0",
    "unknown_app": "category IS NULL",
    "duplicate_id": "repeated_id",
}


def parse_content_day(lines: pa.Table, day: date) -> ParsedDay:
    """Validates one day of the viewing log: valid records and rejected lines with their reason."""
    duration_text = trimmed_sql("source.TotalDuration->>'$'")
    sql = f"""
        WITH hits AS (
            SELECT line_number, raw_line,
                   try(json_type(raw_line)) = 'OBJECT'
                       AND NOT regexp_matches(raw_line, '{NOT_STRICT_JSON}') AS is_object,
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
                   {trimmed_sql("source.Contract")} AS Contract,
                   source.Mac AS Mac,
                   source.AppName AS AppName,
                   CASE
                       WHEN json_type(source.TotalDuration) IN ('BIGINT', 'UBIGINT')
                         OR (json_type(source.TotalDuration) = 'VARCHAR'
                             AND regexp_full_match({duration_text}, '[0-9]+'))
                       THEN TRY_CAST({duration_text} AS BIGINT)
                   END AS TotalDuration,
                   {category_sql("source.AppName")} AS category,
                   _id IS NOT NULL AND row_number() OVER (
                       PARTITION BY _id ORDER BY line_number) > 1 AS repeated_id
            FROM fields
        )
        SELECT *, {first_failing_reason_sql(REASON_CONDITIONS, QUARANTINE_REASONS)} AS reason
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
