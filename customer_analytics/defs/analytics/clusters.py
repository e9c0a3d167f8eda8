"""k-means clusters of a month's profiles (docs/analytics.md, Clusters).

The engine does everything that reads every contract: the features, their scales, the
deterministic sample the fit sees, and, once the centroids are known, each contract's nearest
centroid and the clusters' means. Only the sample (at most CLUSTER_SAMPLE_SIZE rows) and k rows
come to Python, where scikit-learn fits the centroids and chooses k.
"""

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from customer_analytics.defs.analytics.rules import (
    CLOSE_SHARES,
    CLUSTER_K_RANGE,
    CLUSTER_SEED,
    HEAVY_HOURS,
    NOTHING_WATCHED,
    REGULAR_HOURS,
    SCATTER_POINTS,
    SILHOUETTE_SAMPLE_SIZE,
    sample_step,
)
from customer_analytics.defs.analytics.schemas import CUSTOMER_CLUSTERS
from customer_analytics.engines.base import Engine, Query, Source
from customer_analytics.rules.viewing import CATEGORIES, TOTAL_COLUMNS

SHARE_COLUMNS = tuple(f"share_{category.replace(' ', '_')}" for category in CATEGORIES)
# What k-means sees of a contract, in this order in the sample, the scales and the centroids.
FEATURES = (*SHARE_COLUMNS, "log_seconds", "Active")

# Each cluster of the assignment, by its index among the centroids, in original units.
ASSIGNED = pa.schema(
    [
        ("cluster", pa.int64()),
        ("customers", pa.int64()),
        ("hours", pa.float64()),
        ("active_days", pa.float64()),
        *((column, pa.float64()) for column in SHARE_COLUMNS),
    ]
)
# The points of the segmentation chart.
SCATTER = pa.schema([("hours", pa.float64()), ("top_share", pa.float64()), ("cluster", pa.int64())])


@dataclass(frozen=True)
class Fit:
    k: int
    silhouettes: dict[int, float]  # by each k tried; empty when a single cluster is all there is
    centroids: list[list[float]]  # standardized, one per cluster, values in FEATURES order


@dataclass(frozen=True)
class Clustering:
    table: pa.Table  # CUSTOMER_CLUSTERS
    k: int  # 0 for a month without customers
    silhouettes: dict[int, float]
    sample: pa.Table  # SCATTER, clusters numbered as in `table`


def features(stats: Source) -> Query:
    """Per contract of `stats` (customer_content_stats): the FEATURES, and the hours and the
    largest share the chart shows."""
    total = " + ".join(TOTAL_COLUMNS)
    shares = ", ".join(
        f"coalesce({column} / NULLIF(total, 0), 0) AS {share}"
        for column, share in zip(TOTAL_COLUMNS, SHARE_COLUMNS, strict=True)
    )
    return Query(
        f"""
        WITH totals AS (
            SELECT Contract, Active, {", ".join(TOTAL_COLUMNS)}, {total} AS total FROM stats
        ), shares AS (
            SELECT Contract, Active, total, {shares} FROM totals
        )
        SELECT Contract, {", ".join(SHARE_COLUMNS)}, ln(1 + total) AS log_seconds, Active,
               total / 3600 AS hours, greatest({", ".join(SHARE_COLUMNS)}) AS top_share
        FROM shares
        """,
        sources={"stats": stats},
    )


def feature_scales(stats: Source) -> Query:
    """One row: `customers`, and `mean_<feature>` and `std_<feature>` (population) of each."""
    moments = ", ".join(
        f"avg({feature}) AS mean_{feature}, stddev_pop({feature}) AS std_{feature}"
        for feature in FEATURES
    )
    schema = pa.schema(
        [
            ("customers", pa.int64()),
            *(
                (f"{moment}_{feature}", pa.float64())
                for feature in FEATURES
                for moment in ("mean", "std")
            ),
        ]
    )
    return Query(
        f"SELECT count(*) AS customers, {moments} FROM features",
        schema,
        {"features": features(stats)},
    )


def cluster_sample(stats: Source, step: int) -> Query:
    """The features, hours and top share of every `step`-th contract by Contract (row numbers
    from 1), in Contract order: the same sample on every run and every engine."""
    return Query(
        f"""
        WITH numbered AS (
            SELECT *, row_number() OVER (ORDER BY Contract) AS position FROM features
        )
        SELECT Contract, {", ".join(FEATURES)}, hours, top_share
        FROM numbered
        WHERE position % {step} = 0
        ORDER BY Contract
        """,
        sources={"features": features(stats)},
    )


def _number(value: float) -> str:
    """A DOUBLE literal that reads back as exactly `value` (17 digits), in both engines."""
    text = format(value, ".17e")
    return f"({text})" if value < 0 else text


def _scales(scales: dict) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations in FEATURES order; a feature constant over the month has
    no spread, so it is divided by 1 and stands at 0 for every contract."""
    means = np.array([scales[f"mean_{feature}"] for feature in FEATURES], dtype=float)
    stds = np.array([scales[f"std_{feature}"] or 1.0 for feature in FEATURES], dtype=float)
    return means, stds


def _first_nearest(count: int) -> str:
    """The index of the first of the distances d0, d1, ... that is the least: CASE takes the
    first branch that holds, which breaks ties to the lower index."""
    if count == 1:
        return "0"
    closest = f"least({', '.join(f'd{index}' for index in range(count))})"
    return (
        "CASE "
        + " ".join(f"WHEN d{index} = {closest} THEN {index}" for index in range(count))
        + " END"
    )


def assign_clusters(stats: Source, scales: dict, centroids: list[list[float]]) -> Query:
    """Each contract to its nearest centroid (squared distance of its standardized features,
    ties to the lower index), aggregated: per cluster index, its customers and the means of
    hours, active days and shares. Only one row per cluster comes back."""
    means, stds = _scales(scales)
    standardized = ", ".join(
        f"({feature} - {_number(mean)}) / {_number(std)} AS z_{feature}"
        for feature, mean, std in zip(FEATURES, means, stds, strict=True)
    )
    distances = ", ".join(
        " + ".join(
            f"(z_{feature} - {_number(value)}) * (z_{feature} - {_number(value)})"
            for feature, value in zip(FEATURES, centroid, strict=True)
        )
        + f" AS d{index}"
        for index, centroid in enumerate(centroids)
    )
    means_of_shares = ", ".join(f"avg({share}) AS {share}" for share in SHARE_COLUMNS)
    return Query(
        f"""
        WITH standardized AS (
            SELECT hours, Active, {", ".join(SHARE_COLUMNS)}, {standardized} FROM features
        ), distances AS (
            SELECT *, {distances} FROM standardized
        ), nearest AS (
            SELECT *, {_first_nearest(len(centroids))} AS cluster FROM distances
        )
        SELECT cluster, count(*) AS customers, avg(hours) AS hours, avg(Active) AS active_days,
               {means_of_shares}
        FROM nearest
        GROUP BY cluster
        ORDER BY cluster
        """,
        ASSIGNED,
        {"features": features(stats)},
    )


def standardized(sample_features: np.ndarray, scales: dict) -> np.ndarray:
    means, stds = _scales(scales)
    return (sample_features - means) / stds


def nearest_centroid(points: np.ndarray, centroids: list[list[float]]) -> np.ndarray:
    """The index of each standardized point's nearest centroid, summed in the order of
    `assign_clusters` so that a sample point falls where the engine puts it; ties to the lower
    index (argmin takes the first)."""
    distances = np.zeros((len(points), len(centroids)))
    for index, centroid in enumerate(centroids):
        for column, value in enumerate(centroid):
            distances[:, index] += (points[:, column] - value) * (points[:, column] - value)
    return np.argmin(distances, axis=1)


def fit(sample_features: np.ndarray, scales: dict) -> Fit:
    """k-means of the sample (rows in FEATURES order, at least one) for each k of
    CLUSTER_K_RANGE, keeping the k of the highest silhouette (the smaller k on a tie).

    A k is tried only when the sample has at least k distinct points and more than k points
    (a silhouette needs 2 to n - 1 clusters); when none is, the month is one cluster."""
    points = standardized(sample_features, scales)
    distinct = len(np.unique(points, axis=0))
    models: dict[int, KMeans] = {}
    silhouettes: dict[int, float] = {}
    for k in CLUSTER_K_RANGE:
        if distinct < k or len(points) <= k:
            continue
        models[k] = KMeans(n_clusters=k, random_state=CLUSTER_SEED, n_init=10).fit(points)
        # The silhouette is quadratic in its points: measured on a fixed subsample of them.
        silhouettes[k] = float(
            silhouette_score(
                points,
                models[k].labels_,
                sample_size=min(len(points), SILHOUETTE_SAMPLE_SIZE),
                random_state=CLUSTER_SEED,
            )
        )
    if not silhouettes:
        return Fit(1, {}, [points.mean(axis=0).tolist()])
    # max() keeps the first of equal scores, and the scores are in increasing k.
    best = max(silhouettes, key=silhouettes.__getitem__)
    return Fit(best, silhouettes, models[best].cluster_centers_.tolist())


def describe(hours: float, active_days: float, shares: dict[str, float]) -> str:
    """A cluster in words, from its centroid: "heavy The Thao viewers, 28 days a month"."""
    intensity = (
        "heavy" if hours >= HEAVY_HOURS else "regular" if hours >= REGULAR_HOURS else "light"
    )
    days = math.floor(active_days + 0.5)  # half up, as people round
    when = f"{days} day{'' if days == 1 else 's'} a month"
    ranked = sorted(shares.items(), key=lambda item: -item[1])  # stable: ties in given order
    top, top_share = ranked[0]
    if top_share == 0:
        return f"{NOTHING_WATCHED}, {when}"
    close = [
        category
        for category, share in ranked[1:2]
        if share > 0 and top_share - share <= CLOSE_SHARES
    ]
    return f"{intensity} {' and '.join([top, *close])} viewers, {when}"


def cluster_numbers(assigned: pa.Table) -> dict[int, int]:
    """Cluster index → its number: 1 for the most customers, ties to the lower index."""
    order = sorted(
        zip(assigned["cluster"].to_pylist(), assigned["customers"].to_pylist(), strict=True),
        key=lambda pair: (-pair[1], pair[0]),
    )
    return {index: number for number, (index, _) in enumerate(order, start=1)}


def clusters_table(month: date, assigned: pa.Table, total_customers: int) -> pa.Table:
    """The CUSTOMER_CLUSTERS rows of `assign_clusters`' result, numbered by size."""
    numbers = cluster_numbers(assigned)
    rows = [
        {
            "month": month,
            "cluster": numbers[row["cluster"]],
            "customers": row["customers"],
            "share": row["customers"] / total_customers,
            "hours": row["hours"],
            "active_days": row["active_days"],
            **{share: row[share] for share in SHARE_COLUMNS},
            "description": describe(
                row["hours"],
                row["active_days"],
                {
                    category: row[share]
                    for category, share in zip(CATEGORIES, SHARE_COLUMNS, strict=True)
                },
            ),
        }
        for row in assigned.to_pylist()
    ]
    rows.sort(key=lambda row: row["cluster"])
    return pa.Table.from_pylist(rows, schema=CUSTOMER_CLUSTERS)


def _scatter(
    sample: pa.Table, points: np.ndarray, centroids: list[list[float]], numbers: dict[int, int]
) -> pa.Table:
    """Every n-th point of the sample (in Contract order), at most SCATTER_POINTS."""
    step = max(1, math.ceil(sample.num_rows / SCATTER_POINTS))
    kept = np.arange(step - 1, sample.num_rows, step)
    clusters = nearest_centroid(points[kept], centroids)
    return pa.table(
        {
            "hours": sample["hours"].take(kept),
            "top_share": sample["top_share"].take(kept),
            "cluster": [numbers[index] for index in clusters.tolist()],
        },
        schema=SCATTER,
    )


def cluster_customers(engine: Engine, stats: Source, month: date) -> Clustering:
    """The month's clusters: scales and sample from the engine, the fit here, the assignment of
    every contract in the engine; with k, the silhouettes and the chart's sample."""
    scales = engine.fetch(feature_scales(stats)).to_pylist()[0]
    customers = scales["customers"]
    if not customers:
        return Clustering(CUSTOMER_CLUSTERS.empty_table(), 0, {}, SCATTER.empty_table())
    sample = engine.fetch(cluster_sample(stats, sample_step(customers)))
    sample_features = np.column_stack(
        [sample[feature].to_numpy().astype(float) for feature in FEATURES]
    )
    fitted = fit(sample_features, scales)
    assigned = engine.fetch(assign_clusters(stats, scales, fitted.centroids))
    points = standardized(sample_features, scales)
    return Clustering(
        table=clusters_table(month, assigned, customers),
        k=fitted.k,
        silhouettes=fitted.silhouettes,
        sample=_scatter(sample, points, fitted.centroids, cluster_numbers(assigned)),
    )
