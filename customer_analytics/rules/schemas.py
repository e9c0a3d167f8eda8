"""Column contracts of every stored asset: one Arrow schema each, with a description per column.

The IO managers derive warehouse DDL and Dagster's column schema from these, so a column is
declared in exactly one place.
"""

import pyarrow as pa

from customer_analytics.rules.content import CATEGORIES, TOTAL_COLUMNS


def _field(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


def _table(fields: list[pa.Field], primary_key: tuple[str, ...]) -> pa.Schema:
    return pa.schema(fields, metadata={"primary_key": ",".join(primary_key)})


def primary_key(schema: pa.Schema) -> list[str]:
    return (schema.metadata or {}).get(b"primary_key", b"").decode().split(",")


def _totals(period: str) -> list[pa.Field]:
    return [
        _field(column, pa.int64(), f"Seconds watched in {category} over the {period}", False)
        for column, category in zip(TOTAL_COLUMNS, CATEGORIES, strict=True)
    ]


RAW_LOG_CONTENT = pa.schema(
    [
        _field("date", pa.date32(), "Day of the log file", False),
        _field("Contract", pa.string(), "Customer contract, trimmed", False),
        _field("Mac", pa.string(), "MAC address of the set-top box"),
        _field("AppName", pa.string(), "Application as logged"),
        _field("category", pa.string(), "Content category of the app", False),
        _field("TotalDuration", pa.int64(), "Seconds watched", False),
        _field("_id", pa.string(), "Elasticsearch id of the record"),
    ]
)

CONTENT_QUARANTINE = pa.schema(
    [
        _field("date", pa.date32(), "Day of the log file", False),
        _field("line_number", pa.int64(), "1-based line number in the day file", False),
        _field("reason", pa.string(), "First rule the line fails", False),
        _field("raw_line", pa.string(), "The line as it was read", False),
    ]
)

DAILY_PIVOT = _table(
    [
        _field("date", pa.date32(), "Day", False),
        _field("Contract", pa.string(), "Customer contract", False),
        *_totals("day"),
    ],
    primary_key=("date", "Contract"),
)

CUSTOMER_CONTENT_STATS = _table(
    [
        _field("month", pa.date32(), "First day of the month", False),
        _field("Contract", pa.string(), "Customer contract", False),
        *_totals("month"),
        _field("Active", pa.int64(), "Days of the month with at least one valid record", False),
        _field("MostWatch", pa.string(), "Category with the largest total"),
        _field("Taste", pa.string(), "Watched categories joined by '-'"),
    ],
    primary_key=("month", "Contract"),
)


# The search export's part files (docs/contract.md §2): all strings but the plan list.
LOG_SEARCH_FILE = pa.schema(
    [
        *(
            (name, pa.string())
            for name in (
                "eventID",
                "datetime",
                "user_id",
                "keyword",
                "category",
                "proxy_isp",
                "platform",
                "networkType",
                "action",
            )
        ),
        ("userPlansMap", pa.list_(pa.string())),
    ]
)

RAW_LOG_SEARCH = pa.schema(
    [
        _field("date", pa.date32(), "Day of the log folder", False),
        _field("eventID", pa.string(), "Event id, unique within the day"),
        _field("datetime", pa.timestamp("us"), "When the search was made"),
        _field("user_id", pa.string(), "User id, trimmed; leading zeros matter", False),
        _field(
            "keyword", pa.string(), "Normalized keyword (NFC, trimmed, one space, lower)", False
        ),
        _field("raw_keyword", pa.string(), "Keyword as typed"),
        _field("platform", pa.string(), "Client platform"),
        _field("proxy_isp", pa.string(), "Internet provider"),
        _field("networkType", pa.string(), "Network type"),
    ]
)

SEARCH_QUARANTINE = pa.schema(
    [
        _field("date", pa.date32(), "Day of the log folder", False),
        _field(
            "row_number", pa.int64(), "1-based row in the day's part files, in name order", False
        ),
        _field("reason", pa.string(), "First rule the row fails", False),
        _field("record", pa.string(), "The row as JSON", False),
    ]
)

MONTHLY_TOP_KEYWORD = _table(
    [
        _field("month", pa.date32(), "First day of the month", False),
        _field("user_id", pa.string(), "User id", False),
        _field("keyword", pa.string(), "The user's most searched keyword of the month", False),
        _field("search_count", pa.int64(), "Searches of that keyword in the month", False),
        _field("total_searches", pa.int64(), "All valid searches of the user in the month", False),
    ],
    primary_key=("month", "user_id"),
)

KEYWORD_CATEGORY = _table(
    [
        _field("keyword", pa.string(), "Normalized keyword", False),
        _field("category", pa.string(), "One of the 14 keyword categories", False),
        _field("source", pa.string(), "Classifier that answered: rules or openai", False),
        _field("model", pa.string(), "Lexicon version or model name", False),
        _field("classified_at", pa.timestamp("us", tz="UTC"), "When it was classified", False),
    ],
    primary_key=("keyword",),
)

CUSTOMER_SEARCH_STATS = _table(
    [
        _field("month", pa.date32(), "First day of the month M", False),
        _field("user_id", pa.string(), "User id", False),
        _field("keyword_prev", pa.string(), "Top keyword of month M-1"),
        _field("category_prev", pa.string(), "Its category"),
        _field("keyword_cur", pa.string(), "Top keyword of month M"),
        _field("category_cur", pa.string(), "Its category"),
        _field("taste", pa.string(), "Unchanged, Changed, New or Churned", False),
    ],
    primary_key=("month", "user_id"),
)


# The analytics group (docs/analytics.md): small monthly tables, served from the warehouse.
CUSTOMER_SEGMENTS = _table(
    [
        _field("month", pa.date32(), "First day of the month", False),
        _field(
            "activity_level",
            pa.string(),
            "Low (1-9 active days), Medium (10-20), High (21+)",
            False,
        ),
        _field("MostWatch", pa.string(), "Favourite category, or 'Nothing watched'", False),
        _field("customers", pa.int64(), "Contracts in the segment", False),
        _field("share", pa.float64(), "Share of the month's contracts", False),
    ],
    primary_key=("month", "activity_level", "MostWatch"),
)

CUSTOMER_CLUSTERS = _table(
    [
        _field("month", pa.date32(), "First day of the month", False),
        _field("cluster", pa.int64(), "Cluster number, 1 = the largest", False),
        _field("customers", pa.int64(), "Contracts in the cluster", False),
        _field("share", pa.float64(), "Share of the month's contracts", False),
        _field("hours", pa.float64(), "Centroid: hours watched in the month", False),
        _field("active_days", pa.float64(), "Centroid: active days", False),
        *(
            _field(
                f"share_{category.replace(' ', '_')}",
                pa.float64(),
                f"Centroid: share of time in {category}",
                False,
            )
            for category in CATEGORIES
        ),
        _field("description", pa.string(), "The cluster in words", False),
    ],
    primary_key=("month", "cluster"),
)

CONTENT_ENGAGEMENT = _table(
    [
        _field("month", pa.date32(), "First day of the month", False),
        _field("category", pa.string(), "Content category", False),
        _field("total_seconds", pa.int64(), "Seconds watched by all contracts", False),
        _field("viewers", pa.int64(), "Contracts that watched the category", False),
        _field("mean_seconds", pa.float64(), "Mean seconds per viewer"),
        _field("median_seconds", pa.float64(), "Median seconds per viewer"),
        _field("stddev_seconds", pa.float64(), "Sample standard deviation per viewer"),
        _field("q1_seconds", pa.float64(), "First quartile per viewer"),
        _field("q3_seconds", pa.float64(), "Third quartile per viewer"),
        _field("p95_seconds", pa.float64(), "95th percentile per viewer"),
        _field("most_watch_customers", pa.int64(), "Contracts whose MostWatch it is", False),
    ],
    primary_key=("month", "category"),
)

CHURN_RISK = _table(
    [
        _field("month", pa.date32(), "First day of the month", False),
        _field("Contract", pa.string(), "Customer contract", False),
        _field("active_days", pa.int64(), "Active days in the month", False),
        _field("first_half_days", pa.int64(), "Active days in days 1-15", False),
        _field("last_days_active", pa.int64(), "Active days in the month's last 7 days", False),
        _field("score", pa.float64(), "Churn risk, 0.5 to 1", False),
        _field("reason", pa.string(), "Why the contract is at risk", False),
    ],
    primary_key=("month", "Contract"),
)

VIEWING_TRENDS = _table(
    [
        _field("date", pa.date32(), "Day", False),
        _field("category", pa.string(), "Content category", False),
        _field("total_seconds", pa.int64(), "Seconds watched that day", False),
        _field("viewers", pa.int64(), "Contracts that watched the category that day", False),
    ],
    primary_key=("date", "category"),
)

CATEGORY_CORRELATION = _table(
    [
        _field("month", pa.date32(), "First day of the month", False),
        _field("category_a", pa.string(), "Content category", False),
        _field("category_b", pa.string(), "Content category", False),
        _field("pearson", pa.float64(), "Pearson r of the two totals across contracts"),
    ],
    primary_key=("month", "category_a", "category_b"),
)


# The web clickstream (docs/web.md). Times are UTC, stored without a zone as the search log's.
WEB_EVENT_FIELDS = pa.schema(
    [
        _field("batch", pa.int64(), "Sequence number of the batch that delivered the event", False),
        _field("position", pa.int64(), "0-based index of the event in its batch", False),
        _field("sent_epoch", pa.float64(), "When the batch was sent, epoch seconds", False),
        _field("is_object", pa.bool_(), "Whether the event is a JSON object", False),
        _field(
            "is_unicode",
            pa.bool_(),
            "Whether its text is valid Unicode (no lone surrogate); if not, it is escaped",
            False,
        ),
        *(
            _field(name, pa.string(), f"{name}, trimmed; NULL if absent or not text")
            for name in ("session_id", "user_id", "event_type", "page", "device", "browser")
        ),
        _field("anonymous_id", pa.string(), "The stable id a session without user_id gets"),
        _field("timestamp_unit", pa.string(), "seconds, milliseconds, invalid, or NULL if absent"),
        _field("event_epoch", pa.float64(), "When it happened, epoch seconds"),
        _field("event_time", pa.timestamp("us"), "When it happened, UTC"),
        _field("extra_fields", pa.string(), "Fields outside the known ones, comma-separated"),
        _field("record", pa.string(), "The event as JSON", False),
    ]
)

RAW_WEB_EVENTS = pa.schema(
    [
        _field("event_time", pa.timestamp("us"), "When it happened, UTC", False),
        _field("event_epoch", pa.float64(), "When it happened, epoch seconds", False),
        _field("session_id", pa.string(), "Session id, trimmed", False),
        _field("user_id", pa.string(), "User id, or the session's anonymous id", False),
        _field("is_anonymous", pa.bool_(), "Whether user_id was missing", False),
        _field("event_type", pa.string(), "view, scroll, click, like or comment", False),
        _field("page", pa.string(), "Page, trimmed", False),
        _field("device", pa.string(), "Device, or 'unknown'", False),
        _field("browser", pa.string(), "Browser, or 'unknown'", False),
        _field("timestamp_unit", pa.string(), "Unit the timestamp was sent in", False),
        _field("is_late", pa.bool_(), "Delivered more than an hour after it happened", False),
        _field("batch", pa.int64(), "Batch that delivered it", False),
        _field("position", pa.int64(), "Index in that batch", False),
    ]
)

WEB_QUARANTINE = pa.schema(
    [
        _field("hour_start", pa.timestamp("us"), "The hour folder it landed in, UTC", False),
        _field("batch", pa.int64(), "Batch that delivered it", False),
        _field("position", pa.int64(), "Index in that batch", False),
        _field("reason", pa.string(), "First rule the event fails", False),
        _field("record", pa.string(), "The event as JSON", False),
    ]
)

WEB_EXTRA_COLUMNS = pa.schema(
    [
        _field("hour_start", pa.timestamp("us"), "The hour folder it landed in, UTC", False),
        _field("batch", pa.int64(), "Batch that delivered it", False),
        _field("position", pa.int64(), "Index in that batch", False),
        _field("session_id", pa.string(), "Session id, trimmed"),
        _field("extra_fields", pa.string(), "The fields outside the known ones", False),
        _field("record", pa.string(), "The whole event as JSON", False),
    ]
)

WEB_SESSIONS = _table(
    [
        _field("date", pa.date32(), "Day the session started, UTC", False),
        _field("session_id", pa.string(), "Session id", False),
        _field(
            "user_id", pa.string(), "The session's first known user, else its anonymous id", False
        ),
        _field("is_anonymous", pa.bool_(), "Whether no event of it named a user", False),
        _field("session_start", pa.timestamp("us"), "First event, UTC", False),
        _field("session_end", pa.timestamp("us"), "Last event, UTC", False),
        _field("duration_seconds", pa.float64(), "End minus start", False),
        _field("events", pa.int64(), "Events of the session", False),
        _field("unique_pages", pa.int64(), "Distinct pages", False),
        _field("first_event", pa.string(), "Type of the first event by time", False),
        _field("last_event", pa.string(), "Type of the last event by time", False),
        _field("device", pa.string(), "Device of the first event", False),
        _field("browser", pa.string(), "Browser of the first event", False),
        _field("interactions", pa.int64(), "Clicks, likes and comments", False),
        _field("engagement_score", pa.float64(), "Sum of the event types' weights", False),
    ],
    primary_key=("date", "session_id"),
)

CRM_CUSTOMERS = _table(
    [
        _field("customer_id", pa.string(), "Customer id, the user_id of the web events", False),
        _field("contract", pa.string(), "Contract of the viewing profile", False),
        _field("loyalty_tier", pa.string(), "Bronze, Silver, Gold or Platinum", False),
        _field("rating", pa.int64(), "The customer's rating of the service, 1 to 5", False),
    ],
    primary_key=("customer_id",),
)

CUSTOMER_LOYALTY = _table(
    [
        _field("month", pa.date32(), "First day of the month", False),
        _field("customer_id", pa.string(), "Customer id", False),
        _field(
            "contract", pa.string(), "Contract (joins customer_content_stats); NULL if not in CRM"
        ),
        _field("loyalty_tier", pa.string(), "CRM loyalty tier; NULL if not in CRM"),
        _field("rating", pa.int64(), "CRM rating; NULL if not in CRM"),
        _field("sessions", pa.int64(), "Sessions started in the month", False),
        _field("events", pa.int64(), "Events of those sessions", False),
        _field("engagement_score", pa.float64(), "Sum of the sessions' engagement scores", False),
        _field("engagement_per_session", pa.float64(), "Engagement score per session", False),
        _field(
            "loyalty_interactions", pa.int64(), "Clicks, likes and comments of the month", False
        ),
        _field("loyalty_rate_pct", pa.float64(), "Loyalty interactions per 100 events", False),
    ],
    primary_key=("month", "customer_id"),
)
