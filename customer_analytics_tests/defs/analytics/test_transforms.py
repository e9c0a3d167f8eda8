"""The analytics rules on both engines (docs/analytics.md).

Covers `customer_segments` (activity levels at their edges, NOTHING_WATCHED, shares per month),
`content_engagement` (interpolated quantiles, sample deviation, a category nobody watched),
`taste_breadth`, `churn_risk` (silent, drops, their thresholds and precedence, the month's
days), `viewing_trends`, `category_totals` and `category_correlation`. Every test takes the
`engine` fixture and runs on DuckDB and on Spark; inputs are hand-made profiles and daily pivots,
and every expected value is worked out by hand.
"""

import math
from datetime import date

import pyarrow as pa
import pytest

from customer_analytics.defs.analytics.transforms import (
    category_correlation,
    category_totals,
    churn_risk,
    content_engagement,
    customer_segments,
    taste_breadth,
    viewing_trends,
)
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS, DAILY_PIVOT
from customer_analytics_tests.conftest import PIVOT_COLUMNS, PROFILE_COLUMNS

# createDataFrame checks the installed pandas even when given Arrow tables.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

MARCH = date(2024, 3, 1)
APRIL = date(2024, 4, 1)


def _profiles(*rows: tuple) -> pa.Table:
    """customer_content_stats rows from (month, Contract, Giai Tri, Phim Truyen, The Thao,
    Thieu Nhi, Truyen Hinh, Active, MostWatch, Taste)."""
    records = [dict(zip(PROFILE_COLUMNS, row, strict=True)) for row in rows]
    return pa.Table.from_pylist(records, schema=CUSTOMER_CONTENT_STATS)


def _pivot(*rows: tuple) -> pa.Table:
    """daily_pivot rows from (date, Contract, Giai Tri, Phim Truyen, The Thao, Thieu Nhi,
    Truyen Hinh)."""
    records = [dict(zip(PIVOT_COLUMNS, row, strict=True)) for row in rows]
    return pa.Table.from_pylist(records, schema=DAILY_PIVOT)


def _rows(table: pa.Table) -> list[tuple]:
    return [tuple(row.values()) for row in table.to_pylist()]


def _assert_rows(table: pa.Table, expected: list[tuple]) -> None:
    """The rows in order, floats compared with pytest.approx."""
    rows = _rows(table)
    assert len(rows) == len(expected), rows
    for row, wanted in zip(rows, expected, strict=True):
        assert row == pytest.approx(wanted), row


# --- customer_segments ---------------------------------------------------------------------------


def test_segments_count_contracts_by_activity_level_and_favourite(engine):
    stats = _profiles(
        (MARCH, "C1", 0, 0, 0, 0, 40, 5, "Truyen Hinh", "Truyen Hinh"),
        (MARCH, "C2", 0, 0, 0, 0, 90, 9, "Truyen Hinh", "Truyen Hinh"),
        (MARCH, "C3", 0, 70, 0, 0, 0, 10, "Phim Truyen", "Phim Truyen"),
        (MARCH, "C4", 0, 80, 0, 0, 30, 20, "Phim Truyen", "Phim Truyen-Truyen Hinh"),
        (MARCH, "C5", 0, 0, 60, 0, 0, 21, "The Thao", "The Thao"),
        (MARCH, "C6", 0, 0, 0, 0, 0, 3, None, None),
        (MARCH, "C7", 0, 0, 0, 0, 500, 30, "Truyen Hinh", "Truyen Hinh"),
        (MARCH, "C8", 0, 0, 0, 0, 1, 1, "Truyen Hinh", "Truyen Hinh"),
        (APRIL, "C1", 4, 0, 0, 0, 0, 12, "Giai Tri", "Giai Tri"),
        (APRIL, "C2", 8, 0, 0, 0, 0, 2, "Giai Tri", "Giai Tri"),
    )
    segments = engine.fetch(customer_segments(stats))
    assert segments.column_names == ["month", "activity_level", "MostWatch", "customers", "share"]
    # 8 contracts in March, 2 in April: each share is of its own month.
    _assert_rows(
        segments,
        [
            (MARCH, "High", "The Thao", 1, 0.125),
            (MARCH, "High", "Truyen Hinh", 1, 0.125),
            (MARCH, "Low", "Nothing watched", 1, 0.125),
            (MARCH, "Low", "Truyen Hinh", 3, 0.375),
            (MARCH, "Medium", "Phim Truyen", 2, 0.25),
            (APRIL, "Low", "Giai Tri", 1, 0.5),
            (APRIL, "Medium", "Giai Tri", 1, 0.5),
        ],
    )


# --- content_engagement and taste_breadth ---------------------------------------------------------

# The Thao: six viewers, 10, 20, 40, 80, 160, 320 seconds (E7 and E8 watched none).
# Truyen Hinh: three viewers, 50, 70, 100. Giai Tri: one viewer, 5. Nobody watched the rest.
ENGAGEMENT_PROFILES = (
    (MARCH, "E1", 0, 0, 10, 0, 50, 3, "Truyen Hinh", "The Thao-Truyen Hinh"),
    (MARCH, "E2", 0, 0, 20, 0, 0, 2, "The Thao", "The Thao"),
    (MARCH, "E3", 0, 0, 40, 0, 0, 4, "The Thao", "The Thao"),
    (MARCH, "E4", 0, 0, 80, 0, 100, 6, "Truyen Hinh", "The Thao-Truyen Hinh"),
    (MARCH, "E5", 0, 0, 160, 0, 0, 1, "The Thao", "The Thao"),
    (MARCH, "E6", 5, 0, 320, 0, 0, 8, "The Thao", "Giai Tri-The Thao"),
    (MARCH, "E7", 0, 0, 0, 0, 0, 2, None, None),
    (MARCH, "E8", 0, 0, 0, 0, 70, 5, "Truyen Hinh", "Truyen Hinh"),
)


def test_engagement_per_category_over_its_viewers(engine):
    engagement = engine.fetch(content_engagement(_profiles(*ENGAGEMENT_PROFILES)))
    assert engagement.column_names == [
        "month",
        "category",
        "total_seconds",
        "viewers",
        "mean_seconds",
        "median_seconds",
        "stddev_seconds",
        "q1_seconds",
        "q3_seconds",
        "p95_seconds",
        "most_watch_customers",
    ]
    # Columns: total, viewers, mean, median, stddev, Q1, Q3, P95, MostWatch contracts.
    # The Thao, n = 6, a quantile q at position 5q of 10, 20, 40, 80, 160, 320:
    #   median 2.5 → 40 + 0.5 * 40 = 60; Q1 1.25 → 20 + 0.25 * 20 = 25;
    #   Q3 3.75 → 80 + 0.75 * 80 = 140; P95 4.75 → 160 + 0.75 * 160 = 280.
    #   mean 630 / 6 = 105; deviations -95, -85, -65, -25, 55, 215: squares sum to 70350, / 5.
    # Truyen Hinh, n = 3, position 2q of 50, 70, 100: median 70; Q1 1/2 → 60; Q3 1.5 → 85;
    #   P95 1.9 → 70 + 0.9 * 30 = 97. Mean 220 / 3; deviations -70/3, -10/3, 80/3: squares
    #   sum to 11400 / 9, / 2 = 5700 / 9.
    # Giai Tri, one viewer: every quantile is its value, no sample deviation.
    _assert_rows(
        engagement,
        [
            (MARCH, "Giai Tri", 5, 1, 5.0, 5.0, None, 5.0, 5.0, 5.0, 0),
            (MARCH, "Phim Truyen", 0, 0, None, None, None, None, None, None, 0),
            (MARCH, "The Thao", 630, 6, 105.0, 60.0, math.sqrt(14070), 25.0, 140.0, 280.0, 4),
            (MARCH, "Thieu Nhi", 0, 0, None, None, None, None, None, None, 0),
            (MARCH, "Truyen Hinh", 220, 3, 220 / 3, 70.0, math.sqrt(5700) / 3, 60.0, 85.0, 97.0, 3),
        ],
    )


def test_quantiles_of_five_viewers(engine):
    # Phim Truyen: 10, 20, 40, 80, 160 once sorted; positions 4q are 1, 2, 3 (order statistics)
    # and 3.8 for P95: 80 + 0.8 * 80.
    stats = _profiles(
        *(
            (MARCH, f"P{seconds}", 0, seconds, 0, 0, 0, 1, "Phim Truyen", "Phim Truyen")
            for seconds in (160, 10, 80, 20, 40)
        )
    )
    engagement = engine.fetch(content_engagement(stats)).to_pylist()
    (phim,) = [row for row in engagement if row["category"] == "Phim Truyen"]
    quantiles = ("q1_seconds", "median_seconds", "q3_seconds", "p95_seconds")
    assert tuple(phim[column] for column in quantiles) == pytest.approx((20.0, 40.0, 80.0, 144.0))


def test_taste_breadth_counts_single_and_several_categories(engine):
    # Single: E2, E3, E5, E8; several: E1, E4, E6; E7 watched nothing and is in neither.
    breadth = engine.fetch(taste_breadth(_profiles(*ENGAGEMENT_PROFILES)))
    assert breadth.column_names == ["month", "single_category", "multi_category"]
    assert _rows(breadth) == [(MARCH, 4, 3)]


# --- churn_risk ----------------------------------------------------------------------------------


def _march(day: int) -> date:
    return date(2024, 3, day)


# The signals' mechanics, on contracts of any activity: the regularity thresholds are tested
# on their own below.
ANY_ACTIVITY = {"min_first_half_days": 1, "min_active_days": 1}

# March 2024 has 31 days: its last 7 are days 25-31, its weeks days 1-7, 8-14, 15-21, 22-28.
CHURN_PIVOT = _pivot(
    # S1: active on days 1, 3, 10 and 20, none of the last 7: silent after 3 days in days 1-15.
    # (Its day of February is another month's.)
    (date(2024, 2, 28), "S1", 0, 0, 0, 0, 500),
    (_march(1), "S1", 0, 0, 0, 0, 500),
    (_march(3), "S1", 0, 0, 0, 0, 500),
    (_march(10), "S1", 0, 0, 0, 0, 500),
    (_march(20), "S1", 0, 0, 0, 0, 500),
    # S2: week 1 of 7 x 3600 = 25200, week 2 of 100 (a 99.6% drop) and then silent: silent wins.
    *((_march(day), "S2", 0, 3600, 0, 0, 0) for day in range(1, 8)),
    (_march(8), "S2", 0, 100, 0, 0, 0),
    # D1: weeks 4000, 30000, 8000, 3000: drops of -650%, 73.33% and 62.5%: the steepest counts.
    # Day 30 (50000 seconds) is in no week, but is one of the last 7 days: not silent.
    (_march(2), "D1", 1000, 0, 0, 0, 3000),
    (_march(9), "D1", 0, 20000, 0, 0, 10000),
    (_march(16), "D1", 0, 0, 8000, 0, 0),
    (_march(23), "D1", 0, 0, 0, 3000, 0),
    (_march(30), "D1", 0, 0, 0, 0, 50000),
    # D2: weeks 0, 0, 10000, 4000: a 60% drop from week 3 to 4. Day 29 is in no week: were it
    # in week 4, that week would be 10000 and there would be no drop.
    (_march(15), "D2", 0, 0, 0, 0, 10000),
    (_march(22), "D2", 0, 0, 0, 0, 4000),
    (_march(29), "D2", 0, 0, 0, 0, 6000),
    # D3: weeks 3599, 0, 3600, 1800: week 1 is under an hour (its 100% drop does not count),
    # week 3 to 4 falls exactly 50%.
    (_march(1), "D3", 3599, 0, 0, 0, 0),
    (_march(15), "D3", 0, 0, 3600, 0, 0),
    (_march(22), "D3", 0, 0, 0, 1000, 0),
    (_march(25), "D3", 0, 0, 0, 800, 0),
    # N1: 5000 seconds on days 1, 8, 15, 22 and 29: steady, not flagged.
    *((_march(day), "N1", 5000, 0, 0, 0, 0) for day in (1, 8, 15, 22, 29)),
    # N2: active on days 22 and 23 only (week 4, no week after it): silent at the end but
    # not active in days 1-15.
    (_march(22), "N2", 0, 0, 0, 0, 7200),
    (_march(23), "N2", 0, 0, 0, 0, 7200),
)


def test_churn_risk_flags_silent_contracts_and_steep_drops(engine):
    churn = engine.fetch(churn_risk(CHURN_PIVOT, MARCH, **ANY_ACTIVITY))
    assert churn.column_names == [
        "month",
        "Contract",
        "active_days",
        "first_half_days",
        "last_days_active",
        "score",
        "reason",
    ]
    silent = "silent for the last 7 days after {} active days in days 1-15"
    _assert_rows(
        churn,
        [
            (MARCH, "D1", 5, 2, 1, 0.7333, "viewing fell 73% from week 2 to week 3"),
            (MARCH, "D2", 3, 1, 1, 0.6, "viewing fell 60% from week 3 to week 4"),
            (MARCH, "D3", 4, 2, 1, 0.5, "viewing fell 50% from week 3 to week 4"),
            (MARCH, "S1", 4, 3, 0, 1.0, silent.format(3)),
            (MARCH, "S2", 8, 8, 0, 1.0, silent.format(8)),
        ],
    )


def test_churn_scores_are_rounded_to_four_decimals(engine):
    # Weeks 30000, 10001, 10001, 10001: a drop of 19999 / 30000 = 0.66663..., 66.66...% → 67%.
    # Day 25 is one of April's last 7 days (24-30): not silent.
    pivot = _pivot(
        (date(2024, 4, 1), "R1", 30000, 0, 0, 0, 0),
        (date(2024, 4, 8), "R1", 10001, 0, 0, 0, 0),
        (date(2024, 4, 15), "R1", 10001, 0, 0, 0, 0),
        (date(2024, 4, 25), "R1", 10001, 0, 0, 0, 0),
    )
    churn = engine.fetch(churn_risk(pivot, APRIL, **ANY_ACTIVITY))
    _assert_rows(churn, [(APRIL, "R1", 4, 3, 1, 0.6666, "viewing fell 67% from week 1 to week 2")])


def test_the_silent_days_end_with_the_month(engine):
    # April has 30 days: its last 7 are days 24-30, so day 23 is before them and day 24 in them.
    pivot = _pivot(
        (date(2024, 4, 2), "A1", 0, 0, 0, 500, 0),
        (date(2024, 4, 23), "A1", 0, 0, 0, 500, 0),
        (date(2024, 4, 2), "A2", 0, 0, 0, 500, 0),
        (date(2024, 4, 24), "A2", 0, 0, 0, 500, 0),
    )
    churn = engine.fetch(churn_risk(pivot, APRIL, **ANY_ACTIVITY))
    assert _rows(churn) == [
        (APRIL, "A1", 2, 1, 0, 1.0, "silent for the last 7 days after 1 active days in days 1-15")
    ]


# --- viewing_trends and category_totals -----------------------------------------------------------

TREND_PIVOT = _pivot(
    (date(2024, 3, 1), "A", 10, 0, 0, 0, 5),
    (date(2024, 3, 1), "B", 0, 0, 0, 0, 7),
    (date(2024, 3, 2), "A", 0, 3, 0, 0, 0),
    (date(2024, 3, 2), "C", 0, 0, 0, 0, 0),  # active that day with nothing watched
)


def test_trends_total_and_count_viewers_per_day_and_category(engine):
    trends = engine.fetch(viewing_trends(TREND_PIVOT))
    assert trends.column_names == ["date", "category", "total_seconds", "viewers"]
    assert _rows(trends) == [
        (date(2024, 3, 1), "Giai Tri", 10, 1),
        (date(2024, 3, 1), "Phim Truyen", 0, 0),
        (date(2024, 3, 1), "The Thao", 0, 0),
        (date(2024, 3, 1), "Thieu Nhi", 0, 0),
        (date(2024, 3, 1), "Truyen Hinh", 12, 2),
        (date(2024, 3, 2), "Giai Tri", 0, 0),
        (date(2024, 3, 2), "Phim Truyen", 3, 1),
        (date(2024, 3, 2), "The Thao", 0, 0),
        (date(2024, 3, 2), "Thieu Nhi", 0, 0),
        (date(2024, 3, 2), "Truyen Hinh", 0, 0),
    ]


def test_category_totals_over_the_given_days(engine):
    totals = engine.fetch(category_totals(TREND_PIVOT))
    assert totals.column_names == ["category", "total_seconds"]
    assert _rows(totals) == [
        ("Giai Tri", 10),
        ("Phim Truyen", 3),
        ("The Thao", 0),
        ("Thieu Nhi", 0),
        ("Truyen Hinh", 12),
    ]


# --- category_correlation -------------------------------------------------------------------------


EVERY_CATEGORY = "Giai Tri-Phim Truyen-The Thao-Thieu Nhi-Truyen Hinh"


def test_correlation_of_every_ordered_pair(engine):
    # Giai Tri 1, 2, 3; Phim Truyen twice it (r = 1); The Thao 3, 2, 1 (r = -1); Thieu Nhi
    # constant (NULL, its diagonal too); Truyen Hinh 1, 3, 2: deviations -1, 1, 0 against
    # Giai Tri's -1, 0, 1 give a covariance of 1 / 2 over deviations of 1 and 1: r = 0.5.
    stats = _profiles(
        (MARCH, "K1", 1, 2, 3, 5, 1, 1, "Thieu Nhi", EVERY_CATEGORY),
        (MARCH, "K2", 2, 4, 2, 5, 3, 1, "Thieu Nhi", EVERY_CATEGORY),
        (MARCH, "K3", 3, 6, 1, 5, 2, 1, "Phim Truyen", EVERY_CATEGORY),
    )
    correlation = engine.fetch(category_correlation(stats))
    assert correlation.column_names == ["month", "category_a", "category_b", "pearson"]
    _assert_rows(
        correlation,
        [
            (MARCH, "Giai Tri", "Giai Tri", 1.0),
            (MARCH, "Giai Tri", "Phim Truyen", 1.0),
            (MARCH, "Giai Tri", "The Thao", -1.0),
            (MARCH, "Giai Tri", "Thieu Nhi", None),
            (MARCH, "Giai Tri", "Truyen Hinh", 0.5),
            (MARCH, "Phim Truyen", "Giai Tri", 1.0),
            (MARCH, "Phim Truyen", "Phim Truyen", 1.0),
            (MARCH, "Phim Truyen", "The Thao", -1.0),
            (MARCH, "Phim Truyen", "Thieu Nhi", None),
            (MARCH, "Phim Truyen", "Truyen Hinh", 0.5),
            (MARCH, "The Thao", "Giai Tri", -1.0),
            (MARCH, "The Thao", "Phim Truyen", -1.0),
            (MARCH, "The Thao", "The Thao", 1.0),
            (MARCH, "The Thao", "Thieu Nhi", None),
            (MARCH, "The Thao", "Truyen Hinh", -0.5),
            (MARCH, "Thieu Nhi", "Giai Tri", None),
            (MARCH, "Thieu Nhi", "Phim Truyen", None),
            (MARCH, "Thieu Nhi", "The Thao", None),
            (MARCH, "Thieu Nhi", "Thieu Nhi", None),
            (MARCH, "Thieu Nhi", "Truyen Hinh", None),
            (MARCH, "Truyen Hinh", "Giai Tri", 0.5),
            (MARCH, "Truyen Hinh", "Phim Truyen", 0.5),
            (MARCH, "Truyen Hinh", "The Thao", -0.5),
            (MARCH, "Truyen Hinh", "Thieu Nhi", None),
            (MARCH, "Truyen Hinh", "Truyen Hinh", 1.0),
        ],
    )


def test_churn_signals_count_only_for_regular_contracts(engine):
    # Defaults: silence after at least 5 active days in days 1-15; a drop for at least 10
    # active days. April's last 7 days are 24-30; its weeks 1-7, 8-14, 15-21, 22-28.
    pivot = _pivot(
        # Q1: days 1-5 (5 in the first half), then silent: flagged.
        *((date(2024, 4, day), "Q1", 0, 0, 0, 500, 0) for day in range(1, 6)),
        # Q2: days 1-4 (4 in the first half), then silent: occasional, not flagged.
        *((date(2024, 4, day), "Q2", 0, 0, 0, 500, 0) for day in range(1, 5)),
        # Q3: 3600 s on days 1-10 and 100 s on day 24: 11 active days, 10 of them in 1-15, not
        # silent; weeks 25200, 10800, 0, 100: week 2 to 3 falls 100% (week 1 to 2 only 57%):
        # flagged at 1.0.
        *((date(2024, 4, day), "Q3", 3600, 0, 0, 0, 0) for day in range(1, 11)),
        (date(2024, 4, 24), "Q3", 100, 0, 0, 0, 0),
        # Q4: 3600 s on days 1-8 and 100 s on day 24: 9 active days, not silent; weeks 25200,
        # 3600, 0, 100 fall 100% from week 2 to 3, but under 10 active days a drop does not
        # count: not flagged.
        *((date(2024, 4, day), "Q4", 3600, 0, 0, 0, 0) for day in range(1, 9)),
        (date(2024, 4, 24), "Q4", 100, 0, 0, 0, 0),
    )
    churn = engine.fetch(churn_risk(pivot, APRIL))
    silent = "silent for the last 7 days after 5 active days in days 1-15"
    _assert_rows(
        churn,
        [
            (APRIL, "Q1", 5, 5, 0, 1.0, silent),
            (APRIL, "Q3", 11, 10, 1, 1.0, "viewing fell 100% from week 2 to week 3"),
        ],
    )
