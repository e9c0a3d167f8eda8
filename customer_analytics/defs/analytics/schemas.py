"""The analytics tables (docs/analytics.md): small monthly tables, served from the warehouse."""

import pyarrow as pa

from customer_analytics.rules.identifiers import MAX_CONTRACT_LENGTH
from customer_analytics.rules.tables import field, table
from customer_analytics.rules.viewing import CATEGORIES

# The analytics group (docs/analytics.md): small monthly tables, served from the warehouse.
CUSTOMER_SEGMENTS = table(
    [
        field("month", pa.date32(), "First day of the month", False),
        field(
            "activity_level",
            pa.string(),
            "Low (1-9 active days), Medium (10-20), High (21+)",
            False,
        ),
        field("MostWatch", pa.string(), "Favourite category, or 'Nothing watched'", False),
        field("customers", pa.int64(), "Contracts in the segment", False),
        field("share", pa.float64(), "Share of the month's contracts", False),
    ],
    primary_key=("month", "activity_level", "MostWatch"),
)

CUSTOMER_CLUSTERS = table(
    [
        field("month", pa.date32(), "First day of the month", False),
        field("cluster", pa.int64(), "Cluster number, 1 = the largest", False),
        field("customers", pa.int64(), "Contracts in the cluster", False),
        field("share", pa.float64(), "Share of the month's contracts", False),
        field("hours", pa.float64(), "Centroid: hours watched in the month", False),
        field("active_days", pa.float64(), "Centroid: active days", False),
        *(
            field(
                f"share_{category.replace(' ', '_')}",
                pa.float64(),
                f"Centroid: share of time in {category}",
                False,
            )
            for category in CATEGORIES
        ),
        field("description", pa.string(), "The cluster in words", False),
    ],
    primary_key=("month", "cluster"),
)

CONTENT_ENGAGEMENT = table(
    [
        field("month", pa.date32(), "First day of the month", False),
        field("category", pa.string(), "Content category", False),
        field("total_seconds", pa.int64(), "Seconds watched by all contracts", False),
        field("viewers", pa.int64(), "Contracts that watched the category", False),
        field("mean_seconds", pa.float64(), "Mean seconds per viewer"),
        field("median_seconds", pa.float64(), "Median seconds per viewer"),
        field("stddev_seconds", pa.float64(), "Sample standard deviation per viewer"),
        field("q1_seconds", pa.float64(), "First quartile per viewer"),
        field("q3_seconds", pa.float64(), "Third quartile per viewer"),
        field("p95_seconds", pa.float64(), "95th percentile per viewer"),
        field("most_watch_customers", pa.int64(), "Contracts whose MostWatch it is", False),
    ],
    primary_key=("month", "category"),
)

CHURN_RISK = table(
    [
        field("month", pa.date32(), "First day of the month", False),
        field("Contract", pa.string(), "Customer contract", False, max_length=MAX_CONTRACT_LENGTH),
        field("active_days", pa.int64(), "Active days in the month", False),
        field("first_half_days", pa.int64(), "Active days in days 1-15", False),
        field("last_days_active", pa.int64(), "Active days in the month's last 7 days", False),
        field("score", pa.float64(), "Churn risk, 0.5 to 1", False),
        field("reason", pa.string(), "Why the contract is at risk", False),
    ],
    primary_key=("month", "Contract"),
)

VIEWING_TRENDS = table(
    [
        field("date", pa.date32(), "Day", False),
        field("category", pa.string(), "Content category", False),
        field("total_seconds", pa.int64(), "Seconds watched that day", False),
        field("viewers", pa.int64(), "Contracts that watched the category that day", False),
    ],
    primary_key=("date", "category"),
)

CATEGORY_CORRELATION = table(
    [
        field("month", pa.date32(), "First day of the month", False),
        field("category_a", pa.string(), "Content category", False),
        field("category_b", pa.string(), "Content category", False),
        field("pearson", pa.float64(), "Pearson r of the two totals across contracts"),
    ],
    primary_key=("month", "category_a", "category_b"),
)
