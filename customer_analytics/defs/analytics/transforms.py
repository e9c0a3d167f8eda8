"""The analytics transforms (docs/analytics.md), written once for every engine.

Each is SQL in DuckDB's dialect over the month's viewing profiles (`monthly_profiles`) or its
daily pivots, built from the rules (`rules.py`, the shared `rules/viewing.py`). The five totals are
unpivoted by a cross join with the categories, so a source is read once, not once per category.
"""

import calendar
from datetime import date, timedelta

import pyarrow as pa

from customer_analytics.defs.analytics.rules import (
    CHURN_DROP_SHARE,
    CHURN_MIN_ACTIVE_DAYS,
    CHURN_MIN_FIRST_HALF_DAYS,
    CHURN_MIN_WEEK_SECONDS,
    CHURN_SILENT_DAYS,
    FIRST_HALF_DAYS,
    NOTHING_WATCHED,
    WEEK_DAYS,
    WEEKS,
    activity_level_sql,
)
from customer_analytics.defs.analytics.schemas import (
    CATEGORY_CORRELATION,
    CHURN_RISK,
    CONTENT_ENGAGEMENT,
    CUSTOMER_SEGMENTS,
    VIEWING_TRENDS,
)
from customer_analytics.engines.base import Query, Source
from customer_analytics.rules.sql import literal
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS
from customer_analytics.rules.viewing import CATEGORIES, MONTHLY_PROFILE_SQL, TOTAL_COLUMNS

# The quantiles of CONTENT_ENGAGEMENT, in percent (integers keep the interpolation exact).
QUANTILE_PERCENTS = {"q1_seconds": 25, "median_seconds": 50, "q3_seconds": 75, "p95_seconds": 95}

TASTE_BREADTH = pa.schema(
    [
        ("month", pa.date32()),
        ("single_category", pa.int64()),
        ("multi_category", pa.int64()),
    ]
)
CATEGORY_TOTALS = pa.schema([("category", pa.string()), ("total_seconds", pa.int64())])

# One row per category, to unpivot the totals with.
_CATEGORIES = " UNION ALL ".join(
    f"SELECT {literal(category)} AS category" for category in CATEGORIES
)
# The seconds of the row's category, beside the categories' `category`.
_SECONDS = (
    "CASE category "
    + " ".join(
        f"WHEN {literal(category)} THEN {column}"
        for category, column in zip(CATEGORIES, TOTAL_COLUMNS, strict=True)
    )
    + " END"
)

# The daily pivots unpivoted: one row per (date, Contract, category) with its seconds.
_VIEWING = f"""WITH categories AS ({_CATEGORIES}),
        viewing AS (
            SELECT date, category, {_SECONDS} AS seconds FROM daily CROSS JOIN categories
        )"""


def monthly_profiles(daily_pivot: Source) -> Query:
    """The month's viewing profiles, as customer_content_stats holds them, from its pivots."""
    return Query(MONTHLY_PROFILE_SQL, CUSTOMER_CONTENT_STATS, {"daily": daily_pivot})


def _day(day: date) -> str:
    return f"DATE {literal(day.isoformat())}"


def _between(first: date, last: date) -> str:
    return f"date BETWEEN {_day(first)} AND {_day(last)}"


def customer_segments(stats: Source) -> Query:
    """Contracts per (activity level, MostWatch) and their share of the month's contracts."""
    return Query(
        f"""
        SELECT month, {activity_level_sql("Active")} AS activity_level,
               coalesce(MostWatch, {literal(NOTHING_WATCHED)}) AS MostWatch,
               count(*) AS customers,
               count(*) / NULLIF(sum(count(*)) OVER (PARTITION BY month), 0) AS share
        FROM stats GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """,
        CUSTOMER_SEGMENTS,
        {"stats": stats},
    )


def _quantile_sql(percent: int) -> str:
    """The `percent` quantile of `seconds` by linear interpolation between order statistics, over
    rows numbered k = 0..n-1 by seconds: row k weighs 1 - |k - (n-1)q| where that is positive
    (two rows, or one when (n-1)q is whole). In hundredths, so every step is an integer and both
    engines give the same correctly rounded value."""
    weight = f"greatest(0, 100 - abs(100 * k - {percent} * (n - 1)))"
    return f"sum(seconds * {weight}) / 100"


def content_engagement(stats: Source) -> Query:
    """Per category of the month, the spread of seconds over its viewers (contracts with seconds
    in it), and the contracts whose MostWatch it is (all viewers: a MostWatch has seconds).

    Every category has a row: one nobody watched has 0 viewers and NULL statistics."""
    quantiles = ", ".join(
        f"{_quantile_sql(percent)} AS {column}" for column, percent in QUANTILE_PERCENTS.items()
    )
    return Query(
        f"""
        WITH categories AS ({_CATEGORIES}),
        viewing AS (
            SELECT month, category, {_SECONDS} AS seconds, MostWatch
            FROM stats CROSS JOIN categories
        ), ranked AS (
            SELECT month, category, seconds, MostWatch,
                   row_number() OVER (PARTITION BY month, category ORDER BY seconds) - 1 AS k,
                   count(*) OVER (PARTITION BY month, category) AS n
            FROM viewing WHERE seconds > 0
        ), engagement AS (
            SELECT month, category, CAST(sum(seconds) AS BIGINT) AS total_seconds,
                   count(*) AS viewers, avg(seconds) AS mean_seconds,
                   stddev_samp(seconds) AS stddev_seconds, {quantiles},
                   count(*) FILTER (WHERE MostWatch = category) AS most_watch_customers
            FROM ranked GROUP BY month, category
        ), months AS (
            SELECT DISTINCT month FROM stats
        )
        SELECT m.month, c.category, coalesce(e.total_seconds, 0) AS total_seconds,
               coalesce(e.viewers, 0) AS viewers, e.mean_seconds, e.median_seconds,
               e.stddev_seconds, e.q1_seconds, e.q3_seconds, e.p95_seconds,
               coalesce(e.most_watch_customers, 0) AS most_watch_customers
        FROM months m CROSS JOIN categories c
        LEFT JOIN engagement e ON e.month = m.month AND e.category = c.category
        ORDER BY 1, 2
        """,
        CONTENT_ENGAGEMENT,
        {"stats": stats},
    )


def taste_breadth(stats: Source) -> Query:
    """Per month, the contracts whose Taste names one category and those whose names several;
    contracts that watched nothing (Taste NULL) are in neither."""
    return Query(
        """
        SELECT month,
               count(*) FILTER (WHERE NOT contains(Taste, '-')) AS single_category,
               count(*) FILTER (WHERE contains(Taste, '-')) AS multi_category
        FROM stats WHERE Taste IS NOT NULL GROUP BY month ORDER BY month
        """,
        TASTE_BREADTH,
        {"stats": stats},
    )


def churn_risk(
    daily_pivot: Source,
    month: date,
    min_first_half_days: int = CHURN_MIN_FIRST_HALF_DAYS,
    min_active_days: int = CHURN_MIN_ACTIVE_DAYS,
) -> Query:
    """The contracts of `month` at risk of leaving: silent at the end of the month after at
    least `min_first_half_days` active days in its first half, or, active at least
    `min_active_days`, viewing a week at least CHURN_DROP_SHARE less than the week before (a
    week of at least CHURN_MIN_WEEK_SECONDS). Silent wins; of equal drops, the earlier weeks
    are named.

    The month's days are date literals worked out here, so that the SQL needs no date
    arithmetic, which the engines read differently."""
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])

    def day(number: int) -> date:
        return first + timedelta(days=number - 1)

    weeks = range(1, WEEKS + 1)
    week_totals = ", ".join(
        f"sum(CASE WHEN {_between(day((w - 1) * WEEK_DAYS + 1), day(w * WEEK_DAYS))}"
        f" THEN seconds ELSE 0 END) AS week_{w}"
        for w in weeks
    )
    earlier_weeks = weeks[:-1]  # each pair of consecutive weeks, by its earlier week
    drops = ", ".join(
        f"CASE WHEN week_{w} >= {CHURN_MIN_WEEK_SECONDS}"
        f" THEN (week_{w} - week_{w + 1}) / NULLIF(week_{w}, 0) END AS drop_{w}"
        for w in earlier_weeks
    )
    steepest = f"greatest({', '.join(f'drop_{w}' for w in earlier_weeks)})"
    from_week = (
        "CASE "
        + " ".join(f"WHEN drop_{w} = steepest_drop THEN {w}" for w in earlier_weeks[:-1])
        + f" ELSE {earlier_weeks[-1]} END"
    )

    def week_total(after: int) -> str:
        """The total of the week `after` weeks from the steepest drop's earlier week."""
        branches = " ".join(f"WHEN {w} THEN week_{w + after}" for w in earlier_weeks)
        return f"CASE from_week {branches} END"

    def rounded_drop(scale: int) -> str:
        """round(drop * scale), from the weeks' integer totals: a drop of exactly 72.5% is
        72.5 exactly, which rounds up, where the DOUBLE 0.725 times 100 might not."""
        earlier, later = week_total(0), week_total(1)
        return f"round({scale} * ({earlier} - {later}) / NULLIF({earlier}, 0))"

    silent_reason = (
        f"concat({literal(f'silent for the last {CHURN_SILENT_DAYS} days after ')},"
        f" CAST(first_half_days AS VARCHAR),"
        f" {literal(f' active days in days 1-{FIRST_HALF_DAYS}')})"
    )
    drop_reason = (
        f"concat('viewing fell ', CAST(CAST({rounded_drop(100)} AS BIGINT) AS VARCHAR),"
        " '% from week ', CAST(from_week AS VARCHAR),"
        " ' to week ', CAST(from_week + 1 AS VARCHAR))"
    )
    silent_days = _between(last - timedelta(days=CHURN_SILENT_DAYS - 1), last)
    return Query(
        f"""
        WITH days AS (
            SELECT Contract, date, {" + ".join(TOTAL_COLUMNS)} AS seconds
            FROM daily WHERE {_between(first, last)}
        ), weekly AS (
            SELECT Contract, count(*) AS active_days,
                   count(*) FILTER (WHERE {_between(first, day(FIRST_HALF_DAYS))})
                       AS first_half_days,
                   count(*) FILTER (WHERE {silent_days}) AS last_days_active,
                   {week_totals}
            FROM days GROUP BY Contract
        ), drops AS (
            SELECT *, {drops} FROM weekly
        ), judged AS (
            SELECT *, first_half_days >= {min_first_half_days} AND last_days_active = 0 AS silent,
                   {steepest} AS steepest_drop
            FROM drops
        ), flagged AS (
            SELECT *, {from_week} AS from_week
            FROM judged
            WHERE silent OR (steepest_drop >= {CHURN_DROP_SHARE} AND active_days >= {min_active_days})
        )
        SELECT {_day(first)} AS month, Contract, active_days, first_half_days, last_days_active,
               CASE WHEN silent THEN CAST(1 AS DOUBLE) ELSE {rounded_drop(10000)} / 10000 END
                   AS score,
               CASE WHEN silent THEN {silent_reason} ELSE {drop_reason} END AS reason
        FROM flagged ORDER BY Contract
        """,
        CHURN_RISK,
        {"daily": daily_pivot},
    )


def viewing_trends(daily_pivot: Source) -> Query:
    """Per day and category, the seconds watched and the contracts that watched it."""
    return Query(
        f"""
        {_VIEWING}
        SELECT date, category, CAST(sum(seconds) AS BIGINT) AS total_seconds,
               count(*) FILTER (WHERE seconds > 0) AS viewers
        FROM viewing GROUP BY date, category ORDER BY date, category
        """,
        VIEWING_TRENDS,
        {"daily": daily_pivot},
    )


def category_totals(daily_pivot: Source) -> Query:
    """Per category, the seconds watched over the given days (no rows when there are none)."""
    return Query(
        f"""
        {_VIEWING}
        SELECT category, CAST(sum(seconds) AS BIGINT) AS total_seconds
        FROM viewing GROUP BY category ORDER BY category
        """,
        CATEGORY_TOTALS,
        {"daily": daily_pivot},
    )


def category_correlation(stats: Source) -> Query:
    """Pearson's r of the totals of every ordered pair of categories across the month's contracts.

    r = covar_samp(a, b) / (stddev_samp(a) * stddev_samp(b)), rather than corr(), which is NaN in
    DuckDB and NULL in Spark for a constant column: here NULL in both. The diagonal is 1 exactly
    (for a column that is not constant), and each unordered pair is computed once."""
    indexes = range(len(CATEGORIES))
    moments = ", ".join(
        [
            *(f"stddev_samp({TOTAL_COLUMNS[i]}) AS sd_{i}" for i in indexes),
            *(
                f"covar_samp({TOTAL_COLUMNS[i]}, {TOTAL_COLUMNS[j]}) AS cov_{i}_{j}"
                for i in indexes
                for j in indexes
                if i < j
            ),
        ]
    )

    def pearson(i: int, j: int) -> str:
        if i == j:
            return f"CASE WHEN sd_{i} > 0 THEN CAST(1 AS DOUBLE) END"
        low, high = min(i, j), max(i, j)
        return f"cov_{low}_{high} / NULLIF(sd_{low} * sd_{high}, 0)"

    pairs = " UNION ALL ".join(
        f"SELECT {literal(CATEGORIES[i])} AS category_a, {literal(CATEGORIES[j])} AS category_b"
        for i in indexes
        for j in indexes
    )
    branches = " ".join(
        f"WHEN category_a = {literal(CATEGORIES[i])} AND category_b = {literal(CATEGORIES[j])}"
        f" THEN {pearson(i, j)}"
        for i in indexes
        for j in indexes
    )
    return Query(
        f"""
        WITH moments AS (SELECT month, {moments} FROM stats GROUP BY month),
        pairs AS ({pairs})
        SELECT month, category_a, category_b, CASE {branches} END AS pearson
        FROM moments CROSS JOIN pairs ORDER BY 1, 2, 3
        """,
        CATEGORY_CORRELATION,
        {"stats": stats},
    )
