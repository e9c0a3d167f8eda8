"""The checks of the search-log chain: the rules of docs/contract.md §3 on the raw days and the
invariants of each output, run inside their asset before the data is stored (`lib/checks.py`)."""

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.defs.search.rules import CATEGORIES, FALLBACK_CATEGORY, QUARANTINE_REASONS
from customer_analytics.engines.base import Engine, Source
from customer_analytics.io_managers.warehouse import Warehouse
from customer_analytics.lib.checks import (
    ERROR,
    WARN,
    Check,
    CheckThresholds,
    Outcome,
    warehouse_schema_check,
)
from customer_analytics.lib.raw_checks import (
    ValidatedPartitions,
    quarantine_share_check,
    rejected_share_check,
    volume_check,
)
from customer_analytics.rules.tables import CUSTOMER_SEARCH_STATS


def _user_ids_present(validated: ValidatedPartitions) -> Outcome:
    found = validated.engine.one_row(
        "SELECT count(*) FILTER (WHERE user_id IS NULL OR trim(user_id) = '') AS missing FROM v",
        v=validated.valid,
    )
    return Outcome(
        passed=found["missing"] == 0, metadata={"valid_rows_without_user": found["missing"]}
    )


RAW_CHECKS: list[Check[ValidatedPartitions]] = [
    Check("user_ids_present", "Every valid search has a user id.", ERROR, _user_ids_present),
    quarantine_share_check(QUARANTINE_REASONS),
    rejected_share_check,
    volume_check,
]


@dataclass(frozen=True)
class TopKeywordsToStore:
    """What the checks of monthly_top_keyword look at: the month's top keyword of each user."""

    engine: Engine
    top_keywords: Source


def _one_per_user(to_store: TopKeywordsToStore) -> Outcome:
    found = to_store.engine.one_row(
        "SELECT count(*) AS rows, count(DISTINCT (month, user_id)) AS users FROM t",
        t=to_store.top_keywords,
    )
    return Outcome(
        passed=found["rows"] == found["users"],
        metadata={"rows": found["rows"], "duplicate_users": found["rows"] - found["users"]},
    )


TOP_KEYWORD_CHECKS: list[Check[TopKeywordsToStore]] = [
    Check("one_top_keyword_per_user", "One top keyword per user and month.", ERROR, _one_per_user),
]


@dataclass(frozen=True)
class KeywordCategories:
    """What the checks of keyword_category look at: the month's top keywords and the categories
    found for them. They are small tables, checked with Arrow."""

    keywords: pa.Array
    categories: pa.Table
    thresholds: CheckThresholds


def _count(mask: pa.ChunkedArray | pa.Array) -> int:
    return pc.sum(mask.cast(pa.int64())).as_py() or 0


def _categories_valid(month: KeywordCategories) -> Outcome:
    keywords, categories = month.keywords, month.categories
    unclassified = _count(pc.invert(pc.is_in(keywords, categories["keyword"])))
    answered = categories.filter(pc.is_in(categories["keyword"], keywords))
    off_list = _count(pc.invert(pc.is_in(answered["category"], pa.array(CATEGORIES))))
    return Outcome(
        passed=unclassified == 0 and off_list == 0,
        metadata={"unclassified_keywords": unclassified, "off_list_categories": off_list},
    )


def _other_share(month: KeywordCategories) -> Outcome:
    categories, limit = month.categories, month.thresholds.max_other_share
    other = _count(pc.equal(categories["category"], FALLBACK_CATEGORY))
    share = other / categories.num_rows if categories.num_rows else 0.0
    return Outcome(passed=share <= limit, metadata={"other_share": share, "limit": limit})


CATEGORY_CHECKS: list[Check[KeywordCategories]] = [
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


@dataclass(frozen=True)
class SearchStatsToStore:
    """What the checks of customer_search_stats look at: each user's two months of searches,
    and the warehouse they are loaded into."""

    engine: Engine
    stats: Source
    warehouse: Warehouse


def _taste_consistent(to_store: SearchStatsToStore) -> Outcome:
    found = to_store.engine.one_row(
        """SELECT count(*) FILTER (WHERE taste IS DISTINCT FROM CASE
                   WHEN keyword_cur IS NULL THEN 'Churned'
                   WHEN keyword_prev IS NULL THEN 'New'
                   WHEN category_prev = category_cur THEN 'Unchanged'
                   ELSE 'Changed' END) AS inconsistent,
                  count(*) - count(DISTINCT user_id) AS duplicate_users
           FROM s""",
        s=to_store.stats,
    )
    return Outcome(
        passed=found["inconsistent"] == 0 and found["duplicate_users"] == 0,
        metadata=found,
    )


STATS_CHECKS: list[Check[SearchStatsToStore]] = [
    warehouse_schema_check("customer_search_stats", CUSTOMER_SEARCH_STATS),
    Check(
        "taste_consistent",
        "One row per user; taste agrees with the two months' keywords and categories.",
        ERROR,
        _taste_consistent,
    ),
]
