"""The search-log transforms, written once for every engine.

A day's part files are read and conformed with Arrow (`landing.py`) and their keywords
normalized by the rules (`defs/search/rules.py`); the engine adds each row as JSON and runs the rest.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date

import pyarrow as pa

from customer_analytics.defs.search.rules import (
    QUARANTINE_REASONS,
    REASON_CONDITIONS,
    datetime_sql,
    normalize_keywords,
)
from customer_analytics.defs.search.schemas import (
    LOG_SEARCH_FILE,
    MONTHLY_TOP_KEYWORD,
    RAW_LOG_SEARCH,
    SEARCH_QUARANTINE,
)
from customer_analytics.engines.base import Engine, ParsedPartition, Query, Source
from customer_analytics.rules.sql import first_failing_reason, literal
from customer_analytics.rules.tables import CUSTOMER_SEARCH_STATS
from customer_analytics.rules.text import trimmed_sql


def checked_rows(rows: Source) -> Query:
    """Every search row with the first rule it fails as `reason`, NULL for a valid one; an
    eventID repeats only within its day."""
    return Query(
        f"""
        WITH typed AS (
            SELECT *,
                   {trimmed_sql("user_id")} AS user_id_trimmed,
                   {datetime_sql("datetime")} AS parsed_datetime,
                   eventID IS NOT NULL AND row_number() OVER (
                       PARTITION BY date, eventID ORDER BY row_number) > 1 AS repeated_event
            FROM events
        )
        SELECT *, {first_failing_reason(REASON_CONDITIONS, QUARANTINE_REASONS)} AS reason
        FROM typed
        """,
        sources={"events": rows},
    )


@contextmanager
def parse_search_days(
    engine: Engine, events_by_day: Mapping[date, pa.Table]
) -> Iterator[ParsedPartition]:
    """Validates days of the search log in one plan, each day's rows numbered from 1 in file
    order; the asset gives one day at a time, read and conformed in memory."""
    events = pa.concat_tables(
        table.append_column("date", pa.array([day] * table.num_rows, pa.date32()))
        for day, table in events_by_day.items()
    )
    events = events.append_column("normalized", normalize_keywords(events["keyword"]))
    with engine.materialized(
        checked_rows(engine.with_json_record(events, LOG_SEARCH_FILE.names))
    ) as checked:
        yield ParsedPartition(
            valid=Query(
                """SELECT date, eventID, parsed_datetime AS datetime,
                          user_id_trimmed AS user_id, normalized AS keyword,
                          keyword AS raw_keyword, platform, proxy_isp, networkType
                   FROM checked WHERE reason IS NULL ORDER BY date, row_number""",
                RAW_LOG_SEARCH,
                {"checked": checked},
            ),
            quarantine=Query(
                """SELECT date, row_number, reason, record
                   FROM checked WHERE reason IS NOT NULL ORDER BY date, row_number""",
                SEARCH_QUARANTINE,
                {"checked": checked},
            ),
            checked=checked,
        )


def monthly_top_keyword(raw_log_search: Source) -> Query:
    """Each user's most searched keyword of the month; ties go to the smallest keyword in
    code-point order (both engines compare strings byte-wise, and UTF-8 byte order is
    code-point order)."""
    return Query(
        """
        WITH counts AS (
            SELECT CAST(date_trunc('month', date) AS DATE) AS month, user_id, keyword,
                   count(*) AS search_count
            FROM searches GROUP BY 1, 2, 3
        ), ranked AS (
            SELECT *,
                   sum(search_count) OVER (PARTITION BY month, user_id) AS total_searches,
                   row_number() OVER (
                       PARTITION BY month, user_id ORDER BY search_count DESC, keyword ASC) AS rank
            FROM counts
        )
        SELECT month, user_id, keyword, search_count, CAST(total_searches AS BIGINT) AS total_searches
        FROM ranked WHERE rank = 1 ORDER BY month, user_id
        """,
        MONTHLY_TOP_KEYWORD,
        {"searches": raw_log_search},
    )


def customer_search_stats(
    top_keywords: Source, categories: Source, month: date, previous_month: date
) -> Query:
    """Compares each user's top-keyword category of `month` with that of `previous_month`."""
    this, previous = (f"DATE {literal(m.isoformat())}" for m in (month, previous_month))
    return Query(
        f"""
        WITH current AS (
            SELECT user_id, keyword FROM top_keywords WHERE month = {this}
        ), previous AS (
            SELECT user_id, keyword FROM top_keywords WHERE month = {previous}
        ), joined AS (
            SELECT coalesce(c.user_id, p.user_id) AS user_id,
                   p.keyword AS keyword_prev, cp.category AS category_prev,
                   c.keyword AS keyword_cur, cc.category AS category_cur,
                   c.user_id IS NOT NULL AS in_current, p.user_id IS NOT NULL AS in_previous
            FROM current c
            FULL OUTER JOIN previous p ON c.user_id = p.user_id
            LEFT JOIN categories cp ON cp.keyword = p.keyword
            LEFT JOIN categories cc ON cc.keyword = c.keyword
        )
        SELECT {this} AS month, user_id,
               keyword_prev, category_prev, keyword_cur, category_cur,
               CASE
                   WHEN NOT in_current THEN 'Churned'
                   WHEN NOT in_previous THEN 'New'
                   WHEN category_prev = category_cur THEN 'Unchanged'
                   ELSE 'Changed'
               END AS taste
        FROM joined ORDER BY user_id
        """,
        CUSTOMER_SEARCH_STATS,
        {"top_keywords": top_keywords, "categories": categories},
    )
