"""The checks of the search-log chain: the rules of docs/contract.md §3 on the raw days and the
invariants of each output, run inside their asset before the data is stored (`lib/checks.py`)."""

import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.engines.base import Engine, Source
from customer_analytics.lib.checks import (
    ERROR,
    WARN,
    Check,
    CheckThresholds,
    Outcome,
    warehouse_schema_check,
)
from customer_analytics.lib.raw_checks import (
    ValidatedDays,
    quarantine_share_check,
    rejected_share_check,
    volume_check,
)
from customer_analytics.rules.schemas import CUSTOMER_SEARCH_STATS
from customer_analytics.rules.search import CATEGORIES, FALLBACK_CATEGORY, QUARANTINE_REASONS


def _user_ids_present(validated: ValidatedDays) -> Outcome:
    found = validated.engine.one_row(
        "SELECT count(*) FILTER (WHERE user_id IS NULL OR trim(user_id) = '') AS missing FROM v",
        v=validated.valid,
    )
    return Outcome(
        passed=found["missing"] == 0, metadata={"valid_rows_without_user": found["missing"]}
    )


RAW_CHECKS = [
    Check("user_ids_present", "Every valid search has a user id.", ERROR, _user_ids_present),
    quarantine_share_check(QUARANTINE_REASONS),
    rejected_share_check,
    volume_check,
]


def _one_per_user(engine: Engine, monthly_top_keyword: Source, **_) -> Outcome:
    found = engine.one_row(
        "SELECT count(*) AS rows, count(DISTINCT (month, user_id)) AS users FROM t",
        t=monthly_top_keyword,
    )
    return Outcome(
        passed=found["rows"] == found["users"],
        metadata={"rows": found["rows"], "duplicate_users": found["rows"] - found["users"]},
    )


TOP_KEYWORD_CHECKS = [
    Check("one_top_keyword_per_user", "One top keyword per user and month.", ERROR, _one_per_user),
]


# The month's keywords and their categories are small tables, checked with Arrow.


def _count(mask: pa.ChunkedArray | pa.Array) -> int:
    return pc.sum(mask.cast(pa.int64())).as_py() or 0


def _categories_valid(keywords: pa.Array, categories: pa.Table, **_) -> Outcome:
    unclassified = _count(pc.invert(pc.is_in(keywords, categories["keyword"])))
    answered = categories.filter(pc.is_in(categories["keyword"], keywords))
    off_list = _count(pc.invert(pc.is_in(answered["category"], pa.array(CATEGORIES))))
    return Outcome(
        passed=unclassified == 0 and off_list == 0,
        metadata={"unclassified_keywords": unclassified, "off_list_categories": off_list},
    )


def _other_share(categories: pa.Table, thresholds: CheckThresholds, **_) -> Outcome:
    other = _count(pc.equal(categories["category"], FALLBACK_CATEGORY))
    share = other / categories.num_rows if categories.num_rows else 0.0
    return Outcome(
        passed=share <= thresholds.max_other_share,
        metadata={"other_share": share, "limit": thresholds.max_other_share},
    )


CATEGORY_CHECKS = [
    Check(
        "categories_valid",
        "Every top keyword has one of the 14 categories.",
        ERROR,
        _categories_valid,
    ),
    Check(
        "other_share",
        f"The share of keywords classified {FALLBACK_CATEGORY} stays under its limit.",
        WARN,
        _other_share,
    ),
]


def _taste_consistent(engine: Engine, customer_search_stats: Source, **_) -> Outcome:
    found = engine.one_row(
        """SELECT count(*) FILTER (WHERE taste IS DISTINCT FROM CASE
                   WHEN keyword_cur IS NULL THEN 'Churned'
                   WHEN keyword_prev IS NULL THEN 'New'
                   WHEN category_prev = category_cur THEN 'Unchanged'
                   ELSE 'Changed' END) AS inconsistent,
                  count(*) - count(DISTINCT user_id) AS duplicate_users
           FROM s""",
        s=customer_search_stats,
    )
    return Outcome(
        passed=found["inconsistent"] == 0 and found["duplicate_users"] == 0,
        metadata=found,
    )


STATS_CHECKS = [
    warehouse_schema_check("customer_search_stats", CUSTOMER_SEARCH_STATS),
    Check(
        "taste_consistent",
        "One row per user; taste agrees with the two months' keywords and categories.",
        ERROR,
        _taste_consistent,
    ),
]
