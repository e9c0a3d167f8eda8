"""Rules for the viewing log: validity, the app → category map, and the profile columns.

The SQL fragments use only functions that DuckDB and Spark SQL both understand (CASE, trim,
upper, length, greatest, concat_ws, nullif), so each engine runs the very same expressions.
"""

from customer_analytics.rules.text import trimmed_sql

# Order matters: a rejected line carries the first reason it fails.
QUARANTINE_REASONS = (
    "malformed_json",
    "missing_source",
    "invalid_contract",
    "contract_too_long",
    "invalid_duration",
    "unknown_app",
    "duplicate_id",
)

APP_CATEGORIES = {
    "Truyen Hinh": ("CHANNEL", "DSHD", "KPLUS"),
    "Phim Truyen": ("VOD", "FIMS_RES", "BHD_RES", "VOD_RES", "FIMS", "BHD", "DANET"),
    "Giai Tri": ("RELAX",),
    "Thieu Nhi": ("CHILD",),
    "The Thao": ("SPORT",),
}
APP_TO_CATEGORY = {app: category for category, apps in APP_CATEGORIES.items() for app in apps}

# Column order of daily_pivot and customer_content_stats (alphabetical, as the original job).
CATEGORIES = ("Giai Tri", "Phim Truyen", "The Thao", "Thieu Nhi", "Truyen Hinh")
MOST_WATCH_ORDER = ("Truyen Hinh", "Phim Truyen", "The Thao", "Thieu Nhi", "Giai Tri")
TASTE_ORDER = CATEGORIES
INVALID_CONTRACTS = ("", "0", "NULL")
# Longest trimmed Contract, in characters (code points, as SQL's length and MySQL's VARCHAR
# count them): the warehouse column is VARCHAR(MAX_CONTRACT_LENGTH).
MAX_CONTRACT_LENGTH = 255


def total_column(category: str) -> str:
    return "Total_" + category.replace(" ", "_")


TOTAL_COLUMNS = tuple(total_column(category) for category in CATEGORIES)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def category_sql(app_name: str) -> str:
    """Category of an AppName expression (matched trimmed and upper-cased), NULL for an unknown app."""
    key = f"upper({trimmed_sql(app_name)})"
    branches = " ".join(
        f"WHEN {key} IN ({', '.join(map(_quote, apps))}) THEN {_quote(category)}"
        for category, apps in APP_CATEGORIES.items()
    )
    return f"CASE {branches} END"


def invalid_contract_sql(contract: str) -> str:
    """True when a trimmed Contract expression is null, empty, `0` or `NULL` in any case."""
    values = ", ".join(map(_quote, INVALID_CONTRACTS))
    return f"({contract} IS NULL OR upper({contract}) IN ({values}))"


def contract_too_long_sql(contract: str) -> str:
    """True when a trimmed Contract expression has more than MAX_CONTRACT_LENGTH characters."""
    return f"length({contract}) > {MAX_CONTRACT_LENGTH}"


def most_watch_sql() -> str:
    """The category with the largest total, ties to the earlier in MOST_WATCH_ORDER; NULL if none."""
    largest = f"greatest({', '.join(TOTAL_COLUMNS)})"
    branches = " ".join(
        f"WHEN {total_column(category)} = {largest} THEN {_quote(category)}"
        for category in MOST_WATCH_ORDER
    )
    return f"CASE WHEN {largest} = 0 THEN NULL {branches} END"


def taste_sql() -> str:
    """The watched categories joined by '-' in TASTE_ORDER; NULL when nothing was watched."""
    parts = ", ".join(
        f"CASE WHEN {total_column(category)} > 0 THEN {_quote(category)} END"
        for category in TASTE_ORDER
    )
    return f"nullif(concat_ws('-', {parts}), '')"
