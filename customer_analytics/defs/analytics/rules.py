"""Rules of the analytics group: segments, engagement, churn risk and clusters (docs/analytics.md).

The thresholds are business choices, named once here; the SQL that applies them lives in
`defs/analytics/transforms.py`, the k-means fit in `defs/analytics/clusters.py`.
"""

import math

# Activity level from the month's active days: (label, first day, last day), None = no upper end.
ACTIVITY_LEVELS = (("Low", 1, 9), ("Medium", 10, 20), ("High", 21, None))
# The segment of a contract whose totals are all 0 (its MostWatch is NULL).
NOTHING_WATCHED = "Nothing watched"

# Churn risk, from the month's daily pivots.
FIRST_HALF_DAYS = 15  # days 1..15 of the month
CHURN_SILENT_DAYS = 7  # the month's last days in which a churning contract is silent
WEEK_DAYS = 7
WEEKS = 4  # days 1-7, 8-14, 15-21, 22-28; days 29+ belong to no week
CHURN_MIN_WEEK_SECONDS = 3600  # a drop is measured only from a week of at least an hour
CHURN_DROP_SHARE = 0.5  # the week-over-week fall that flags a contract
# Only a regular customer's change is a signal: an occasional one's silence or uneven weeks are
# its habit (on the real-volume sample, 71% of the contracts would be flagged without these).
CHURN_MIN_FIRST_HALF_DAYS = 5  # silence counts after at least this many active days in 1-15
CHURN_MIN_ACTIVE_DAYS = 10  # a drop counts for a contract of at least Medium activity

# Clusters.
CLUSTER_SEED = 7
CLUSTER_SAMPLE_SIZE = 20_000
SILHOUETTE_SAMPLE_SIZE = 5_000  # points of the sample the silhouette of each k is measured on
CLUSTER_K_RANGE = range(2, 7)
SCATTER_POINTS = 5_000  # markers in the segmentation chart, never the whole month
HEAVY_HOURS = 60  # hours a month from which a cluster's viewers are "heavy"
REGULAR_HOURS = 15  # ... "regular"; below, "light"
CLOSE_SHARES = 0.15  # two favourite categories this close are both named


def activity_level_sql(active_days: str) -> str:
    """The activity level of an expression counting active days."""
    branches = " ".join(
        f"WHEN {active_days} >= {first}"
        + (f" AND {active_days} <= {last}" if last else "")
        + f" THEN '{label}'"
        for label, first, last in ACTIVITY_LEVELS
    )
    return f"CASE {branches} END"


def sample_step(customers: int) -> int:
    """Every how many customers (by Contract) one is in the clustering sample."""
    return max(1, math.ceil(customers / CLUSTER_SAMPLE_SIZE))
