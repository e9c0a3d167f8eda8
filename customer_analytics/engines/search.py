"""The search-log transforms, run by DuckDB over Arrow."""

from datetime import date

import pyarrow as pa

from customer_analytics.engines.arrow_sql import (
    ArrowSource,
    ParsedDay,
    first_failing_reason_sql,
    query,
    split_by_reason,
)
from customer_analytics.rules import schemas
from customer_analytics.rules.search import (
    DATETIME_PATTERN,
    MAX_KEYWORD_LENGTH,
    MAX_USER_ID_LENGTH,
    QUARANTINE_REASONS,
    VOICE_SEARCH_KEYWORD,
    normalize_keywords,
)
from customer_analytics.rules.text import trimmed_sql

RAW_COLUMNS = tuple(schemas.LOG_SEARCH_FILE.names)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# When a row fails each rule, over the columns of `typed` below.
REASON_CONDITIONS = {
    "invalid_user_id": "user_id_trimmed IS NULL OR user_id_trimmed = ''"
    " OR upper(user_id_trimmed) = 'NULL'",
    "user_id_too_long": f"length(user_id_trimmed) > {MAX_USER_ID_LENGTH}",
    "not_search_action": f"lower({trimmed_sql('action')}) IS DISTINCT FROM 'search'",
    "empty_keyword": "normalized IS NULL OR normalized = ''",
    "keyword_too_long": f"length(normalized) > {MAX_KEYWORD_LENGTH}",
    "voice_search": f"normalized = {_literal(VOICE_SEARCH_KEYWORD)}",
    # A NULL datetime is an unknown time, kept NULL; text that is not a time is quarantined.
    "invalid_datetime": "datetime IS NOT NULL AND parsed_datetime IS NULL",
    "duplicate_event": "repeated_event",
}


def parse_search_day(events: pa.Table, day: date) -> ParsedDay:
    """Validates one day of the search log (rows numbered from 1 in file order)."""
    events = events.append_column("normalized", normalize_keywords(events["keyword"]))
    record = ", ".join(f"{column} := {column}" for column in RAW_COLUMNS)
    datetime_text = trimmed_sql("datetime")
    sql = f"""
        WITH typed AS (
            SELECT *,
                   {trimmed_sql("user_id")} AS user_id_trimmed,
                   CASE WHEN regexp_full_match({datetime_text}, '{DATETIME_PATTERN}')
                        THEN TRY_CAST({datetime_text} AS TIMESTAMP)
                   END AS parsed_datetime,
                   eventID IS NOT NULL AND row_number() OVER (
                       PARTITION BY eventID ORDER BY row_number) > 1 AS repeated_event
            FROM events
        )
        SELECT *, {first_failing_reason_sql(REASON_CONDITIONS, QUARANTINE_REASONS)} AS reason
        FROM typed
    """
    day_literal = f"DATE '{day.isoformat()}'"
    return split_by_reason(
        sql,
        valid_columns=f"""{day_literal} AS date, eventID, parsed_datetime AS datetime,
            user_id_trimmed AS user_id, normalized AS keyword, keyword AS raw_keyword,
            platform, proxy_isp, networkType""",
        quarantine_columns=f"""{day_literal} AS date, row_number, reason,
            CAST(to_json(struct_pack({record})) AS VARCHAR) AS record""",
        order_by="row_number",
        valid_schema=schemas.RAW_LOG_SEARCH,
        quarantine_schema=schemas.SEARCH_QUARANTINE,
        events=events,
    )


def monthly_top_keyword(raw_log_search: ArrowSource) -> pa.Table:
    """Each user's most searched keyword of the month; ties go to the smallest keyword in
    code-point order (DuckDB compares strings byte-wise, and UTF-8 byte order is code-point
    order)."""
    return query(
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
        schemas.MONTHLY_TOP_KEYWORD,
        searches=raw_log_search,
    )


def customer_search_stats(
    top_keywords: ArrowSource, categories: ArrowSource, month: date, previous_month: date
) -> pa.Table:
    """Compares each user's top-keyword category of `month` with that of `previous_month`."""
    return query(
        f"""
        WITH current AS (
            SELECT user_id, keyword FROM top_keywords WHERE month = DATE '{month.isoformat()}'
        ), previous AS (
            SELECT user_id, keyword FROM top_keywords
            WHERE month = DATE '{previous_month.isoformat()}'
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
        SELECT DATE '{month.isoformat()}' AS month, user_id,
               keyword_prev, category_prev, keyword_cur, category_cur,
               CASE
                   WHEN NOT in_current THEN 'Churned'
                   WHEN NOT in_previous THEN 'New'
                   WHEN category_prev = category_cur THEN 'Unchanged'
                   ELSE 'Changed'
               END AS taste
        FROM joined ORDER BY user_id
        """,
        schemas.CUSTOMER_SEARCH_STATS,
        top_keywords=top_keywords,
        categories=categories,
    )
