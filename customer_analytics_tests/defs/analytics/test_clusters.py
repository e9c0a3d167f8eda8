"""The clusters of a month's profiles (docs/analytics.md, Clusters).

The queries (features, scales, sample, assignment) and `cluster_customers` run on DuckDB and on
Spark through the `engine` fixture; the fit, the numbering and the words are plain Python. The
profiles are written by hand, in groups that are apart by construction, so that k, every
contract's cluster, the sizes and the descriptions are known before anything runs.
"""

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from customer_analytics.defs.analytics.clusters import (
    FEATURES,
    assign_clusters,
    cluster_customers,
    cluster_sample,
    clusters_table,
    describe,
    feature_scales,
    features,
    fit,
)
from customer_analytics.defs.analytics.schemas import CUSTOMER_CLUSTERS
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS

# createDataFrame checks the installed pandas even when given Arrow tables.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

MONTH = date(2022, 4, 1)
SHARES = [
    "share_Giai_Tri",
    "share_Phim_Truyen",
    "share_The_Thao",
    "share_Thieu_Nhi",
    "share_Truyen_Hinh",
]
# Scales that leave every feature as it is: the centroids are then in original units.
IDENTITY = {"customers": 1} | {
    f"{moment}_{feature}": value
    for feature in FEATURES
    for moment, value in (("mean", 0.0), ("std", 1.0))
}


def _profiles(*rows: tuple) -> pa.Table:
    """customer_content_stats rows of MONTH from (Contract, Giai Tri, Phim Truyen, The Thao,
    Thieu Nhi, Truyen Hinh, Active); MostWatch and Taste, which clustering never reads, NULL."""
    names = ["Contract", *CUSTOMER_CONTENT_STATS.names[2:7], "Active"]
    records = [
        {"month": MONTH, **dict(zip(names, row, strict=True)), "MostWatch": None, "Taste": None}
        for row in rows
    ]
    return pa.Table.from_pylist(records, schema=CUSTOMER_CONTENT_STATS)


def _shares(**shares: float) -> dict[str, float]:
    """Every category's share, 0 unless given (by its name with underscores)."""
    categories = ["Giai Tri", "Phim Truyen", "The Thao", "Thieu Nhi", "Truyen Hinh"]
    return {category: shares.get(category.replace(" ", "_"), 0.0) for category in categories}


# --- the features ---------------------------------------------------------------------------


def test_features_of_a_contract(engine):
    stats = _profiles(
        ("B", 900, 0, 2700, 0, 0, 9),
        ("A", 0, 0, 0, 0, 0, 2),  # nothing watched: shares 0, not a division by zero
    )
    rows = engine.fetch(features(stats)).sort_by("Contract").to_pylist()
    assert rows == [
        {
            "Contract": "A",
            "share_Giai_Tri": 0.0,
            "share_Phim_Truyen": 0.0,
            "share_The_Thao": 0.0,
            "share_Thieu_Nhi": 0.0,
            "share_Truyen_Hinh": 0.0,
            "log_seconds": 0.0,
            "Active": 2,
            "hours": 0.0,
            "top_share": 0.0,
        },
        {
            "Contract": "B",
            "share_Giai_Tri": 0.25,
            "share_Phim_Truyen": 0.0,
            "share_The_Thao": 0.75,
            "share_Thieu_Nhi": 0.0,
            "share_Truyen_Hinh": 0.0,
            "log_seconds": pytest.approx(8.188966863648876),  # ln(3601)
            "Active": 9,
            "hours": 1.0,
            "top_share": 0.75,
        },
    ]


def test_feature_scales_are_the_mean_and_population_std(engine):
    stats = _profiles(
        ("A", 0, 0, 3599, 0, 0, 10),
        ("B", 0, 0, 0, 3599, 0, 20),
    )
    (row,) = engine.fetch(feature_scales(stats)).to_pylist()
    assert row == pytest.approx(
        {
            "customers": 2,
            "mean_share_Giai_Tri": 0.0,
            "std_share_Giai_Tri": 0.0,
            "mean_share_Phim_Truyen": 0.0,
            "std_share_Phim_Truyen": 0.0,
            "mean_share_The_Thao": 0.5,
            "std_share_The_Thao": 0.5,
            "mean_share_Thieu_Nhi": 0.5,
            "std_share_Thieu_Nhi": 0.5,
            "mean_share_Truyen_Hinh": 0.0,
            "std_share_Truyen_Hinh": 0.0,
            "mean_log_seconds": 8.1886891244442,  # ln(3600)
            "std_log_seconds": 0.0,
            "mean_Active": 15.0,
            "std_Active": 5.0,  # population: sqrt(((10-15)^2 + (20-15)^2) / 2)
        },
        abs=1e-12,
    )


# --- the sample -----------------------------------------------------------------------------

# K<n> watches n hours of Truyen Hinh; listed out of order, sampled in Contract order.
SEVEN = _profiles(*((f"K{n}", 0, 0, 0, 0, n * 3600, n) for n in (5, 2, 7, 1, 4, 6, 3)))


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        pytest.param(1, ["K1", "K2", "K3", "K4", "K5", "K6", "K7"], id="every-contract"),
        pytest.param(3, ["K3", "K6"], id="every-third"),
        pytest.param(8, [], id="step-beyond-the-month"),
    ],
)
def test_sample_is_every_nth_contract_by_contract(engine, step, expected):
    sample = engine.fetch(cluster_sample(SEVEN, step))
    assert sample["Contract"].to_pylist() == expected
    assert sample["hours"].to_pylist() == [float(contract[1]) for contract in expected]
    assert sample["top_share"].to_pylist() == [1.0] * len(expected)
    assert sample.column_names == ["Contract", *FEATURES, "hours", "top_share"]


# --- the assignment -------------------------------------------------------------------------

AT_8 = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 8.0]  # nothing watched, 8 active days
AT_12 = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 12.0]
# X is as far from both (Active 10); Y nearer 8; Z (2 hours of The Thao, Active 13) and W nearer 12.
FOUR = _profiles(
    ("X", 0, 0, 0, 0, 0, 10),
    ("Y", 0, 0, 0, 0, 0, 9),
    ("Z", 0, 0, 7200, 0, 0, 13),
    ("W", 0, 0, 0, 0, 0, 20),
)


def _cluster(cluster, customers, hours, active_days, the_thao=0.0) -> dict:
    return {
        "cluster": cluster,
        "customers": customers,
        "hours": pytest.approx(hours),
        "active_days": pytest.approx(active_days),
        "share_Giai_Tri": 0.0,
        "share_Phim_Truyen": 0.0,
        "share_The_Thao": pytest.approx(the_thao),
        "share_Thieu_Nhi": 0.0,
        "share_Truyen_Hinh": 0.0,
    }


@pytest.mark.parametrize(
    ("centroids", "expected"),
    [
        pytest.param(
            [AT_8, AT_12],
            [_cluster(0, 2, 0.0, 9.5), _cluster(1, 2, 1.0, 16.5, 0.5)],
            id="tie-to-the-centroid-at-8",
        ),
        pytest.param(
            [AT_12, AT_8],
            [_cluster(0, 3, 2 / 3, 43 / 3, 1 / 3), _cluster(1, 1, 0.0, 9.0)],
            id="tie-to-the-centroid-at-12",
        ),
    ],
)
def test_each_contract_goes_to_its_nearest_centroid_ties_to_the_lower_index(
    engine, centroids, expected
):
    assert engine.fetch(assign_clusters(FOUR, IDENTITY, centroids)).to_pylist() == expected


def test_assignment_standardizes_with_the_scales(engine):
    """Active 10 is at 0 once standardized by mean 10, std 2: nearer the centroid at 1 than at
    -3 (Active 4), which unscaled would be nearer."""
    scales = IDENTITY | {"mean_Active": 10.0, "std_Active": 2.0}
    at_1 = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    at_minus_3 = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -3.0]
    stats = _profiles(("X", 0, 0, 0, 0, 0, 10))
    rows = engine.fetch(assign_clusters(stats, scales, [at_minus_3, at_1])).to_pylist()
    assert [(row["cluster"], row["customers"]) for row in rows] == [(1, 1)]


# --- a month end to end ---------------------------------------------------------------------

# Three groups, listed mixed up: 5 heavy sports viewers (80-100 h, 9/10 The Thao, 26-30 days),
# 4 light children viewers (2-5 h, 8/10 Thieu Nhi, 3-8 days) and 3 regular film viewers (20-30 h,
# 5/10 Phim Truyen and 4/10 Truyen Hinh, 14-16 days).
THREE_GROUPS = _profiles(
    ("S03", 0, 0, 291600, 0, 32400, 28),
    ("C02", 2160, 0, 0, 8640, 0, 4),
    ("F01", 7200, 36000, 0, 0, 28800, 14),
    ("S01", 0, 0, 259200, 0, 28800, 26),
    ("C04", 3600, 0, 0, 14400, 0, 8),
    ("S05", 0, 0, 324000, 0, 36000, 30),
    ("F03", 10800, 54000, 0, 0, 43200, 16),
    ("C01", 1440, 0, 0, 5760, 0, 3),
    ("S02", 0, 0, 275400, 0, 30600, 27),
    ("F02", 9000, 45000, 0, 0, 36000, 15),
    ("C03", 2880, 0, 0, 11520, 0, 5),
    ("S04", 0, 0, 307800, 0, 34200, 29),
)


def _row(cluster, customers, share, hours, active_days, shares, description) -> dict:
    return {
        "month": MONTH,
        "cluster": cluster,
        "customers": customers,
        "share": pytest.approx(share),
        "hours": pytest.approx(hours),
        "active_days": pytest.approx(active_days),
        **{
            column: pytest.approx(value)
            for column, value in zip(SHARES, shares.values(), strict=True)
        },
        "description": description,
    }


def test_three_groups_are_three_clusters_numbered_by_size(engine):
    clustering = cluster_customers(engine, THREE_GROUPS, MONTH)
    assert clustering.k == 3
    assert sorted(clustering.silhouettes) == [2, 3, 4, 5, 6]
    assert max(clustering.silhouettes.values()) == clustering.silhouettes[3]
    assert clustering.table.schema == CUSTOMER_CLUSTERS
    assert clustering.table.to_pylist() == [
        _row(
            1,
            5,
            5 / 12,
            90.0,
            28.0,
            _shares(The_Thao=0.9, Truyen_Hinh=0.1),
            "heavy The Thao viewers, 28 days a month",
        ),
        _row(
            2,
            4,
            4 / 12,
            3.5,
            5.0,
            _shares(Giai_Tri=0.2, Thieu_Nhi=0.8),
            "light Thieu Nhi viewers, 5 days a month",
        ),
        _row(
            3,
            3,
            3 / 12,
            25.0,
            15.0,
            _shares(Giai_Tri=0.1, Phim_Truyen=0.5, Truyen_Hinh=0.4),
            "regular Phim Truyen and Truyen Hinh viewers, 15 days a month",
        ),
    ]
    # Twelve contracts are all in the chart's sample, in Contract order: C01-C04, F01-F03,
    # S01-S05, each in the cluster of its group.
    assert clustering.sample.to_pydict() == {
        "hours": [2.0, 3.0, 4.0, 5.0, 20.0, 25.0, 30.0, 80.0, 85.0, 90.0, 95.0, 100.0],
        "top_share": [0.8, 0.8, 0.8, 0.8, 0.5, 0.5, 0.5, 0.9, 0.9, 0.9, 0.9, 0.9],
        "cluster": [2, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 1],
    }


def test_a_month_of_one_customer_is_one_cluster(engine):
    clustering = cluster_customers(engine, _profiles(("ONLY", 36000, 0, 0, 0, 0, 7)), MONTH)
    assert (clustering.k, clustering.silhouettes) == (1, {})
    assert clustering.table.to_pylist() == [
        _row(1, 1, 1.0, 10.0, 7.0, _shares(Giai_Tri=1.0), "light Giai Tri viewers, 7 days a month")
    ]
    assert clustering.sample.to_pylist() == [{"hours": 10.0, "top_share": 1.0, "cluster": 1}]


def test_a_month_without_customers_has_no_cluster(engine):
    clustering = cluster_customers(engine, _profiles(), MONTH)
    assert (clustering.k, clustering.silhouettes) == (0, {})
    assert clustering.table.num_rows == 0
    assert clustering.table.schema == CUSTOMER_CLUSTERS
    assert clustering.sample.num_rows == 0


# --- the fit --------------------------------------------------------------------------------


def _points(*active_days: float) -> np.ndarray:
    """Sample rows that differ only in Active (the last feature)."""
    return np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, days] for days in active_days])


def test_fit_tries_only_the_k_with_as_many_distinct_points():
    """Ten points at three places: k = 2 and 3 only, and 3 puts each place in its own cluster,
    a silhouette of exactly 1."""
    fitted = fit(_points(1, 1, 1, 1, 10, 10, 10, 20, 20, 20), IDENTITY)
    assert sorted(fitted.silhouettes) == [2, 3]
    assert fitted.silhouettes[3] == 1.0
    assert fitted.k == 3
    assert sorted(centroid[-1] for centroid in fitted.centroids) == pytest.approx([1, 10, 20])


@pytest.mark.parametrize(
    "active_days",
    [
        pytest.param((14,), id="one-customer"),
        pytest.param((14, 14, 14), id="identical-customers"),
        pytest.param((14, 20), id="two-customers"),  # k = 2 would leave no one to compare
    ],
)
def test_fit_without_a_k_to_try_is_one_cluster(active_days):
    fitted = fit(_points(*active_days), IDENTITY)
    assert (fitted.k, fitted.silhouettes) == (1, {})
    assert len(fitted.centroids) == 1


def test_fit_centroids_are_standardized():
    scales = IDENTITY | {"mean_Active": 10.0, "std_Active": 2.0}
    assert fit(_points(14), scales).centroids == [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]]


def test_a_feature_without_spread_stands_at_zero():
    scales = IDENTITY | {"mean_Active": 14.0, "std_Active": 0.0}
    assert fit(_points(14), scales).centroids == [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]


# --- the words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "active_days", "shares", "expected"),
    [
        pytest.param(
            60.0,
            20.0,
            _shares(The_Thao=0.9, Truyen_Hinh=0.1),
            "heavy The Thao viewers, 20 days a month",
            id="heavy-from-60-hours",
        ),
        pytest.param(
            59.99,
            20.0,
            _shares(The_Thao=0.9, Truyen_Hinh=0.1),
            "regular The Thao viewers, 20 days a month",
            id="regular-below-60-hours",
        ),
        pytest.param(
            15.0,
            10.0,
            _shares(Phim_Truyen=0.7, Giai_Tri=0.3),
            "regular Phim Truyen viewers, 10 days a month",
            id="regular-from-15-hours",
        ),
        pytest.param(
            14.99,
            10.0,
            _shares(Phim_Truyen=0.7, Giai_Tri=0.3),
            "light Phim Truyen viewers, 10 days a month",
            id="light-below-15-hours",
        ),
        pytest.param(
            30.0,
            12.0,
            _shares(Truyen_Hinh=0.35, Phim_Truyen=0.45, Giai_Tri=0.2),
            "regular Phim Truyen and Truyen Hinh viewers, 12 days a month",
            id="two-close-categories-largest-first",
        ),
        pytest.param(
            30.0,
            12.0,
            _shares(Truyen_Hinh=0.4, Phim_Truyen=0.6),
            "regular Phim Truyen viewers, 12 days a month",
            id="second-category-not-close",
        ),
        pytest.param(
            5.0,
            12.5,
            _shares(Thieu_Nhi=1.0),
            "light Thieu Nhi viewers, 13 days a month",
            id="days-rounded-half-up",
        ),
        pytest.param(
            5.0,
            12.49,
            _shares(Thieu_Nhi=1.0),
            "light Thieu Nhi viewers, 12 days a month",
            id="days-rounded-down",
        ),
        pytest.param(
            0.5,
            1.2,
            _shares(Giai_Tri=1.0),
            "light Giai Tri viewers, 1 day a month",
            id="one-day",
        ),
        pytest.param(0.0, 2.0, _shares(), "Nothing watched, 2 days a month", id="nothing-watched"),
    ],
)
def test_describe(hours, active_days, shares, expected):
    assert describe(hours, active_days, shares) == expected


# --- the table ------------------------------------------------------------------------------


def test_clusters_are_numbered_by_size_ties_to_the_lower_index():
    def assigned(cluster, customers, hours, days, the_thao, thieu_nhi):
        shares = _shares(The_Thao=the_thao, Thieu_Nhi=thieu_nhi)
        return {
            "cluster": cluster,
            "customers": customers,
            "hours": hours,
            "active_days": days,
            **dict(zip(SHARES, shares.values(), strict=True)),
        }

    table = clusters_table(
        MONTH,
        pa.Table.from_pylist(
            [
                assigned(0, 3, 70.0, 25.0, 1.0, 0.0),
                assigned(1, 5, 20.0, 14.0, 0.0, 1.0),
                assigned(2, 3, 2.0, 3.0, 0.5, 0.5),
            ]
        ),
        11,
    )
    assert table.schema == CUSTOMER_CLUSTERS
    assert [(row["cluster"], row["customers"], row["hours"]) for row in table.to_pylist()] == [
        (1, 5, 20.0),
        (2, 3, 70.0),
        (3, 3, 2.0),
    ]
    assert table["share"].to_pylist() == pytest.approx([5 / 11, 3 / 11, 3 / 11])
    assert table["description"].to_pylist() == [
        "regular Thieu Nhi viewers, 14 days a month",
        "heavy The Thao viewers, 25 days a month",
        "light The Thao and Thieu Nhi viewers, 3 days a month",
    ]
