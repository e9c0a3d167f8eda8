"""The viewing-log transforms, written once for every engine.

Each is SQL in DuckDB's dialect over named sources, built from the rules (`rules/content.py`);
the engine decodes the day file into DECODED_FIELDS and runs the rest.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from customer_analytics.engines.base import Engine, ParsedDay, Query, Source
from customer_analytics.engines.storage import Location
from customer_analytics.rules import schemas
from customer_analytics.rules.content import (
    CATEGORIES,
    QUARANTINE_REASONS,
    REASON_CONDITIONS,
    TOTAL_COLUMNS,
    category_sql,
    duration_sql,
    most_watch_sql,
    taste_sql,
)
from customer_analytics.rules.sql import first_failing_reason, literal
from customer_analytics.rules.text import trimmed_sql

# What an engine decodes from each line of a day file, as it is in the line:
DECODED_FIELDS = (
    "line_number",  # 1-based physical line of the file
    "raw_line",  # its text, line ending and a leading byte-order mark removed
    "is_object",  # a strict JSON object (rules/content.py NOT_STRICT_JSON)
    "has_source",  # its `_source` is an object
    "_id",
    "Contract",  # the `_source` members as text, NULL when absent or null
    "Mac",
    "AppName",
    "duration_kind",  # TotalDuration: 'integer', 'string' or NULL for any other JSON value
    "duration_text",
)


def _day(day: date) -> str:
    return f"DATE {literal(day.isoformat())}"


def checked_lines(decoded: Source) -> Query:
    """Every decoded line with the first rule it fails as `reason`, NULL for a valid one, and
    the text of the quarantined lines only: a valid line is its columns, and keeping the text of
    the whole day would double what the engine holds."""
    return Query(
        f"""
        WITH typed AS (
            SELECT line_number, raw_line, is_object, has_source,
                   CASE WHEN is_object THEN _id END AS _id,
                   {trimmed_sql("Contract")} AS Contract, Mac, AppName,
                   {duration_sql("duration_kind", "duration_text")} AS TotalDuration,
                   {category_sql("AppName")} AS category
            FROM decoded
        ), ranked AS (
            SELECT *, _id IS NOT NULL AND row_number() OVER (
                       PARTITION BY _id ORDER BY line_number) > 1 AS repeated_id
            FROM typed
        ), reasoned AS (
            SELECT *, {first_failing_reason(REASON_CONDITIONS, QUARANTINE_REASONS)} AS reason
            FROM ranked
        )
        SELECT line_number, is_object, has_source, _id, Contract, Mac, AppName, TotalDuration,
               category, repeated_id, reason,
               CASE WHEN reason IS NOT NULL THEN raw_line END AS raw_line
        FROM reasoned
        """,
        sources={"decoded": decoded},
    )


@contextmanager
def parse_content_day(
    engine: Engine, location: Location, relative: str, day: date
) -> Iterator[ParsedDay]:
    """Validates one day file of the viewing log, computed once for its two outputs."""
    with engine.materialized(checked_lines(engine.content_lines(location, relative))) as checked:
        yield ParsedDay(
            valid=Query(
                f"""SELECT {_day(day)} AS date, Contract, Mac, AppName, category, TotalDuration,
                           _id
                    FROM checked WHERE reason IS NULL ORDER BY line_number""",
                schemas.RAW_LOG_CONTENT,
                {"checked": checked},
            ),
            quarantine=Query(
                f"""SELECT {_day(day)} AS date, line_number, reason, raw_line
                    FROM checked WHERE reason IS NOT NULL ORDER BY line_number""",
                schemas.CONTENT_QUARANTINE,
                {"checked": checked},
            ),
            checked=checked,
        )


def daily_pivot(raw_log_content: Source) -> Query:
    """Seconds per category for each (date, Contract) with a valid record that day."""
    totals = ", ".join(
        f"CAST(sum(CASE WHEN category = {literal(category)} THEN TotalDuration ELSE 0 END)"
        f" AS BIGINT) AS {column}"
        for category, column in zip(CATEGORIES, TOTAL_COLUMNS, strict=True)
    )
    return Query(
        f"SELECT date, Contract, {totals} FROM raw GROUP BY date, Contract ORDER BY date, Contract",
        schemas.DAILY_PIVOT,
        {"raw": raw_log_content},
    )


def customer_content_stats(daily_pivot: Source) -> Query:
    """The monthly profile of every contract: totals, active days, MostWatch and Taste.

    A daily pivot holds one row per (date, Contract), so a contract's rows in the month are its
    active days: counted as rows, not as distinct dates, which costs a second aggregation."""
    sums = ", ".join(f"CAST(sum({column}) AS BIGINT) AS {column}" for column in TOTAL_COLUMNS)
    return Query(
        f"""
        WITH monthly AS (
            SELECT CAST(date_trunc('month', date) AS DATE) AS month, Contract, {sums},
                   count(*) AS Active
            FROM daily GROUP BY 1, 2
        )
        SELECT month, Contract, {", ".join(TOTAL_COLUMNS)}, Active,
               {most_watch_sql()} AS MostWatch, {taste_sql()} AS Taste
        FROM monthly ORDER BY month, Contract
        """,
        schemas.CUSTOMER_CONTENT_STATS,
        {"daily": daily_pivot},
    )
