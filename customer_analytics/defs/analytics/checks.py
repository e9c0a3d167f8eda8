"""The checks of the analytics group: the invariants of each table, run inside the step on the
small table it is about to store (`lib/checks.py`)."""

from dataclasses import dataclass
from itertools import pairwise

import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.defs.analytics.rules import CHURN_DROP_SHARE
from customer_analytics.defs.analytics.schemas import (
    CATEGORY_CORRELATION,
    CHURN_RISK,
    CONTENT_ENGAGEMENT,
    CUSTOMER_CLUSTERS,
    CUSTOMER_SEGMENTS,
    VIEWING_TRENDS,
)
from customer_analytics.io_managers.warehouse import Warehouse
from customer_analytics.lib.checks import ERROR, Check, Outcome, warehouse_schema_check
from customer_analytics.rules.viewing import CATEGORIES

# Rounding of a sum of shares, far below a customer's share of any month.
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class AnalyticsTableToStore:
    """What the checks of an analytics table look at: the table, what the month's profiles and
    daily pivots say it must add up to, and the warehouse it is loaded into."""

    table: pa.Table
    profiles: int  # the month's number of profiles
    totals: dict[str, int]  # the month's seconds per category
    warehouse: Warehouse


def _sum(table: pa.Table, column: str) -> float:
    return pc.sum(table[column]).as_py() or 0


def _every_profile_counted(to_store: AnalyticsTableToStore) -> Outcome:
    profiles = to_store.profiles
    counted, shares = _sum(to_store.table, "customers"), _sum(to_store.table, "share")
    return Outcome(
        passed=counted == profiles and (profiles == 0 or abs(shares - 1) <= SHARE_TOLERANCE),
        metadata={"profiles": profiles, "counted": counted, "shares": shares},
    )


def _one_row_per_category(to_store: AnalyticsTableToStore) -> Outcome:
    found = to_store.table["category"].to_pylist()
    return Outcome(
        passed=sorted(found) == sorted(CATEGORIES),
        metadata={"categories": ", ".join(map(str, found))},
    )


def _quantiles_in_order(to_store: AnalyticsTableToStore) -> Outcome:
    columns = ("q1_seconds", "median_seconds", "q3_seconds", "p95_seconds")
    disordered = [
        row["category"]
        for row in to_store.table.to_pylist()
        if row["viewers"] and not all(row[a] <= row[b] for a, b in pairwise(columns))
    ]
    return Outcome(passed=not disordered, metadata={"disordered": ", ".join(disordered)})


def _totals_match(to_store: AnalyticsTableToStore) -> Outcome:
    found: dict[str, int] = {}
    for row in to_store.table.select(["category", "total_seconds"]).to_pylist():
        found[row["category"]] = found.get(row["category"], 0) + row["total_seconds"]
    differing = [c for c in CATEGORIES if found.get(c, 0) != to_store.totals.get(c, 0)]
    return Outcome(passed=not differing, metadata={"differing": ", ".join(differing)})


def _scores_in_range(to_store: AnalyticsTableToStore) -> Outcome:
    score = to_store.table["score"]
    outside = pc.sum(pc.or_(pc.less(score, CHURN_DROP_SHARE), pc.greater(score, 1.0))).as_py()
    return Outcome(passed=not outside, metadata={"outside": outside or 0})


def _correlations_consistent(to_store: AnalyticsTableToStore) -> Outcome:
    pearson = {(r["category_a"], r["category_b"]): r["pearson"] for r in to_store.table.to_pylist()}
    problems = []
    for (a, b), r in pearson.items():
        if r is None:
            continue
        reverse = pearson.get((b, a))
        if abs(r) > 1 + SHARE_TOLERANCE or (
            reverse is not None and abs(r - reverse) > SHARE_TOLERANCE
        ):
            problems.append(f"{a}/{b}")
        if a == b and abs(r - 1) > SHARE_TOLERANCE:
            problems.append(f"{a}/{a}")
    return Outcome(
        passed=len(pearson) == len(CATEGORIES) ** 2 and not problems,
        metadata={"pairs": len(pearson), "inconsistent": ", ".join(problems)},
    )


CHECKS: dict[str, list[Check[AnalyticsTableToStore]]] = {
    "customer_segments": [
        Check(
            "every_profile_in_one_segment",
            "The segments count every profile of the month once; their shares add up to 1.",
            ERROR,
            _every_profile_counted,
        ),
        warehouse_schema_check("customer_segments", CUSTOMER_SEGMENTS),
    ],
    "customer_clusters": [
        Check(
            "every_profile_in_one_cluster",
            "The clusters count every profile of the month once; their shares add up to 1.",
            ERROR,
            _every_profile_counted,
        ),
        warehouse_schema_check("customer_clusters", CUSTOMER_CLUSTERS),
    ],
    "content_engagement": [
        Check("one_row_per_category", "One row for each category.", ERROR, _one_row_per_category),
        Check(
            "quantiles_in_order",
            "For each watched category, Q1 <= median <= Q3 <= p95.",
            ERROR,
            _quantiles_in_order,
        ),
        Check(
            "totals_match_the_pivots",
            "The seconds per category equal those of the month's daily pivots.",
            ERROR,
            _totals_match,
        ),
        warehouse_schema_check("content_engagement", CONTENT_ENGAGEMENT),
    ],
    "churn_risk": [
        Check(
            "scores_in_range",
            "Every score lies between the drop threshold and 1.",
            ERROR,
            _scores_in_range,
        ),
        warehouse_schema_check("churn_risk", CHURN_RISK),
    ],
    "viewing_trends": [
        Check(
            "totals_match_the_pivots",
            "The days' seconds per category add up to those of the month's daily pivots.",
            ERROR,
            _totals_match,
        ),
        warehouse_schema_check("viewing_trends", VIEWING_TRENDS),
    ],
    "category_correlation": [
        Check(
            "correlations_consistent",
            "Every ordered pair once, r(a, b) = r(b, a), |r| <= 1 and r(a, a) = 1 where defined.",
            ERROR,
            _correlations_consistent,
        ),
        warehouse_schema_check("category_correlation", CATEGORY_CORRELATION),
    ],
}
