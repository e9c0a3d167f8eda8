"""The viewing-log transforms, written once for every engine.

Each is SQL in DuckDB's dialect over named sources, built from the rules (`rules.py`); each
engine decodes the day file into DECODED_FIELDS its own way (`decode.py`) and runs the rest.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date

from customer_analytics.defs.content.decode import decoded_lines
from customer_analytics.defs.content.rules import (
    QUARANTINE_REASONS,
    REASON_CONDITIONS,
    category_sql,
    duration_sql,
)
from customer_analytics.defs.content.schemas import CONTENT_QUARANTINE, RAW_LOG_CONTENT
from customer_analytics.engines.base import Engine, ParsedPartition, Query, Source
from customer_analytics.engines.storage import Location
from customer_analytics.rules.sql import first_failing_reason, literal
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS, DAILY_PIVOT
from customer_analytics.rules.text import trimmed_sql
from customer_analytics.rules.viewing import CATEGORIES, MONTHLY_PROFILE_SQL, TOTAL_COLUMNS


def _day(day: date) -> str:
    return f"DATE {literal(day.isoformat())}"


def _day_of_file(days: Sequence[date]) -> str:
    """The day of each line: that of its file (`file`, the file's index in `days`)."""
    if len(days) == 1:
        return _day(days[0])
    return f"CASE file {' '.join(f'WHEN {i} THEN {_day(day)}' for i, day in enumerate(days))} END"


def checked_lines(decoded: Source, days: Sequence[date]) -> Query:
    """Every decoded line with its day, the first rule it fails as `reason` (NULL for a valid
    one), and the text of the quarantined lines only: a valid line is its columns, and keeping
    the text of the whole day would double what the engine holds."""
    return Query(
        f"""
        WITH typed AS (
            SELECT {_day_of_file(days)} AS date, line_number, raw_line, is_object, has_source,
                   CASE WHEN is_object THEN _id END AS _id,
                   {trimmed_sql("Contract")} AS Contract, Mac, AppName,
                   {duration_sql("duration_kind", "duration_text")} AS TotalDuration,
                   {category_sql("AppName")} AS category
            FROM decoded
        ), ranked AS (
            SELECT *, _id IS NOT NULL AND row_number() OVER (
                       PARTITION BY date, _id ORDER BY line_number) > 1 AS repeated_id
            FROM typed
        ), reasoned AS (
            SELECT *, {first_failing_reason(REASON_CONDITIONS, QUARANTINE_REASONS)} AS reason
            FROM ranked
        )
        SELECT date, line_number, is_object, has_source, _id, Contract, Mac, AppName,
               TotalDuration, category, repeated_id, reason,
               CASE WHEN reason IS NOT NULL THEN raw_line END AS raw_line
        FROM reasoned
        """,
        sources={"decoded": decoded},
    )


@contextmanager
def parse_content_days(
    engine: Engine, location: Location, files: Mapping[date, str]
) -> Iterator[ParsedPartition]:
    """Validates day files of the viewing log (`files`: each day's file) in one plan, computed
    once for its two outputs."""
    decoded = decoded_lines(engine, location, list(files.values()))
    with engine.materialized(checked_lines(decoded, list(files))) as checked:
        yield ParsedPartition(
            valid=Query(
                """SELECT date, Contract, Mac, AppName, category, TotalDuration, _id
                   FROM checked WHERE reason IS NULL ORDER BY date, line_number""",
                RAW_LOG_CONTENT,
                {"checked": checked},
            ),
            quarantine=Query(
                """SELECT date, line_number, reason, raw_line
                   FROM checked WHERE reason IS NOT NULL ORDER BY date, line_number""",
                CONTENT_QUARANTINE,
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
        DAILY_PIVOT,
        {"raw": raw_log_content},
    )


def customer_content_stats(daily_pivot: Source) -> Query:
    """The monthly profile of every contract (`rules/viewing.py`)."""
    return Query(MONTHLY_PROFILE_SQL, CUSTOMER_CONTENT_STATS, {"daily": daily_pivot})
