"""The analytics checks, each fed a table that breaks exactly its rule, then one that holds."""

import pyarrow as pa
import pytest

from customer_analytics.defs.analytics.checks import CHECKS, AnalyticsTableToStore
from customer_analytics.lib.checks import Outcome

CATEGORIES = ["Giai Tri", "Phim Truyen", "The Thao", "Thieu Nhi", "Truyen Hinh"]


def _check(asset: str, name: str):
    (check,) = [check for check in CHECKS[asset] if check.name == name]

    # None of these checks reads the warehouse.
    def evaluate(table: pa.Table, profiles: int = 0, totals: dict | None = None) -> Outcome:
        return check.evaluate(AnalyticsTableToStore(table, profiles, totals or {}, warehouse=None))

    return evaluate


@pytest.mark.parametrize("asset", ["customer_segments", "customer_clusters"])
def test_every_profile_counted_once(asset):
    name = "every_profile_in_one_" + ("segment" if asset == "customer_segments" else "cluster")
    evaluate = _check(asset, name)
    holds = pa.table({"customers": [3, 1], "share": [0.75, 0.25]})
    assert evaluate(table=holds, profiles=4).passed
    assert not evaluate(table=holds, profiles=5).passed
    off_shares = pa.table({"customers": [3, 1], "share": [0.75, 0.3]})
    assert not evaluate(table=off_shares, profiles=4).passed


def test_engagement_has_each_category_once():
    evaluate = _check("content_engagement", "one_row_per_category")
    assert evaluate(table=pa.table({"category": CATEGORIES})).passed
    assert not evaluate(table=pa.table({"category": CATEGORIES[:4]})).passed
    assert not evaluate(table=pa.table({"category": [*CATEGORIES[:4], "The Thao"]})).passed


def test_quantiles_in_order():
    evaluate = _check("content_engagement", "quantiles_in_order")

    def table(median: float) -> pa.Table:
        return pa.table(
            {
                "category": ["The Thao", "Thieu Nhi"],
                "viewers": [5, 0],
                "q1_seconds": [25.0, None],
                "median_seconds": [median, None],
                "q3_seconds": [140.0, None],
                "p95_seconds": [280.0, None],
            }
        )

    assert evaluate(table=table(60.0)).passed
    outcome = evaluate(table=table(150.0))
    assert not outcome.passed
    assert outcome.metadata["disordered"] == "The Thao"


@pytest.mark.parametrize("asset", ["content_engagement", "viewing_trends"])
def test_totals_match_the_pivots(asset):
    evaluate = _check(asset, "totals_match_the_pivots")
    days = pa.table({"category": ["The Thao", "The Thao", "Thieu Nhi"], "total_seconds": [5, 7, 3]})
    assert evaluate(table=days, totals={"The Thao": 12, "Thieu Nhi": 3}).passed
    outcome = evaluate(table=days, totals={"The Thao": 12, "Thieu Nhi": 4})
    assert not outcome.passed
    assert outcome.metadata["differing"] == "Thieu Nhi"


def test_churn_scores_in_range():
    evaluate = _check("churn_risk", "scores_in_range")
    assert evaluate(table=pa.table({"score": [0.5, 0.7333, 1.0]})).passed
    assert not evaluate(table=pa.table({"score": [0.4, 1.0]})).passed
    assert not evaluate(table=pa.table({"score": [1.5]})).passed


def _correlation(values: dict[tuple[str, str], float | None]) -> pa.Table:
    rows = [
        {"category_a": a, "category_b": b, "pearson": values.get((a, b), 1.0 if a == b else 0.0)}
        for a in CATEGORIES
        for b in CATEGORIES
    ]
    return pa.Table.from_pylist(rows)


def test_correlations_consistent():
    evaluate = _check("category_correlation", "correlations_consistent")
    assert evaluate(table=_correlation({})).passed
    constant = {("Giai Tri", b): None for b in CATEGORIES} | {
        (a, "Giai Tri"): None for a in CATEGORIES
    }
    assert evaluate(table=_correlation(constant)).passed
    assert not evaluate(table=_correlation({("The Thao", "Thieu Nhi"): 0.5})).passed  # asymmetric
    assert not evaluate(table=_correlation({("The Thao", "The Thao"): 0.9})).passed
    assert not evaluate(
        table=_correlation({("The Thao", "Thieu Nhi"): 1.2, ("Thieu Nhi", "The Thao"): 1.2})
    ).passed
    assert not evaluate(table=_correlation({}).slice(0, 24)).passed
