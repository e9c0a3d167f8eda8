"""Rules for the viewing log: validity, the app → category map, and the profile columns.

The SQL fragments use only functions that DuckDB and Spark SQL both understand (CASE, trim,
upper, length, greatest, concat_ws, nullif), so each engine runs the very same expressions.
"""

from customer_analytics.rules.identifiers import MAX_CONTRACT_LENGTH
from customer_analytics.rules.sql import literal, literals
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

INVALID_CONTRACTS = ("", "0", "NULL")
# A line is a strict JSON object (RFC 8259) or is malformed: no trailing comma and no NaN or
# Infinity (any case, `nan` and `inf` too), which some parsers take. A line a parser took is made
# of well-formed string tokens and the tokens between them, so this pattern steps over every
# string token whole (escapes included) and finds a trailing comma or a non-finite literal only
# outside strings: never inside a value such as "HNH, }" or "NaN]".
# Nor does a key that is read repeat, in the hit or in its `_source`: parsers disagree on which
# value counts. Other keys may repeat, as their values are not read.
HIT_KEYS = ("_id", "_source")
SOURCE_KEYS = ("Contract", "Mac", "AppName", "TotalDuration")
JSON_STRING = r'"(?:[^"\\]|\\.)*"'
NOT_STRICT_OUTSIDE_STRINGS = r"(?:,\s*[}\]]|[Nn][Aa][Nn]|[Ii][Nn][Ff])"
NOT_STRICT_JSON = f'^(?:[^"]|{JSON_STRING})*{NOT_STRICT_OUTSIDE_STRINGS}'


def category_sql(app_name: str) -> str:
    """Category of an AppName expression (matched trimmed and upper-cased), NULL for an unknown app."""
    # One CASE over the key, so that it is trimmed and upper-cased once per row.
    branches = " ".join(
        f"WHEN {literal(app)} THEN {literal(category)}" for app, category in APP_TO_CATEGORY.items()
    )
    return f"CASE upper({trimmed_sql(app_name)}) {branches} END"


def invalid_contract_sql(contract: str) -> str:
    """True when a trimmed Contract expression is null, empty, `0` or `NULL` in any case."""
    return f"({contract} IS NULL OR upper({contract}) IN ({literals(INVALID_CONTRACTS)}))"


def contract_too_long_sql(contract: str) -> str:
    """True when a trimmed Contract expression has more than MAX_CONTRACT_LENGTH characters."""
    return f"length({contract}) > {MAX_CONTRACT_LENGTH}"


def duration_sql(kind: str, text: str) -> str:
    """Seconds watched, from the JSON kind of TotalDuration ('integer', 'string' or another)
    and its text: an integer, or a string of digits once trimmed, that fits a BIGINT; NULL for
    anything else (a fraction, an exponent, a sign, a boolean, an array...)."""
    digits = trimmed_sql(text)
    return (
        f"TRY_CAST(CASE WHEN {kind} IN ('integer', 'string') "
        f"AND regexp_full_match({digits}, '[0-9]+') THEN {digits} END AS BIGINT)"
    )


# When a line fails each rule, over the decoded fields of a line (`defs/content/transforms.py`): whether
# it is a strict JSON object, whether its `_source` is an object, the trimmed Contract, the
# duration, the category and whether its `_id` came earlier in the day.
REASON_CONDITIONS = {
    "malformed_json": "is_object IS NOT TRUE",
    "missing_source": "has_source IS NOT TRUE",
    "invalid_contract": invalid_contract_sql("Contract"),
    "contract_too_long": contract_too_long_sql("Contract"),
    "invalid_duration": "TotalDuration IS NULL",
    "unknown_app": "category IS NULL",
    "duplicate_id": "repeated_id",
}
