"""The viewing profile that content and analytics share: the categories, their total columns
(in the order of daily_pivot and customer_content_stats) and how a month's totals make
MostWatch and Taste.

Engine-neutral SQL, as every rule: DuckDB and Spark run the very same expressions.
"""

from customer_analytics.rules.sql import literal

# Column order of daily_pivot and customer_content_stats (alphabetical, as the original job).
CATEGORIES = ("Giai Tri", "Phim Truyen", "The Thao", "Thieu Nhi", "Truyen Hinh")
MOST_WATCH_ORDER = ("Truyen Hinh", "Phim Truyen", "The Thao", "Thieu Nhi", "Giai Tri")
TASTE_ORDER = CATEGORIES


def total_column(category: str) -> str:
    return "Total_" + category.replace(" ", "_")


TOTAL_COLUMNS = tuple(total_column(category) for category in CATEGORIES)


def most_watch_sql() -> str:
    """The category with the largest total, ties to the earlier in MOST_WATCH_ORDER; NULL if none."""
    largest = f"greatest({', '.join(TOTAL_COLUMNS)})"
    branches = " ".join(
        f"WHEN {total_column(category)} = {largest} THEN {literal(category)}"
        for category in MOST_WATCH_ORDER
    )
    return f"CASE WHEN {largest} = 0 THEN NULL {branches} END"


def taste_sql() -> str:
    """The watched categories joined by '-' in TASTE_ORDER; NULL when nothing was watched."""
    parts = ", ".join(
        f"CASE WHEN {total_column(category)} > 0 THEN {literal(category)} END"
        for category in TASTE_ORDER
    )
    return f"nullif(concat_ws('-', {parts}), '')"


# The monthly profile of every contract, over its daily pivots (`daily`): totals, active days,
# MostWatch and Taste. A daily pivot holds one row per (date, Contract), so a contract's rows in
# the month are its active days: counted as rows, not as distinct dates, which costs a second
# aggregation.
_SUMS = ", ".join(f"CAST(sum({column}) AS BIGINT) AS {column}" for column in TOTAL_COLUMNS)
MONTHLY_PROFILE_SQL = f"""
    WITH monthly AS (
        SELECT CAST(date_trunc('month', date) AS DATE) AS month, Contract, {_SUMS},
               count(*) AS Active
        FROM daily GROUP BY 1, 2
    )
    SELECT month, Contract, {", ".join(TOTAL_COLUMNS)}, Active,
           {most_watch_sql()} AS MostWatch, {taste_sql()} AS Taste
    FROM monthly ORDER BY month, Contract
"""
