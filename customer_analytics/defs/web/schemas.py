"""The clickstream's and the CRM's tables (docs/web.md): one Arrow schema each, with a description
per column. Times are UTC, stored without a zone as the search log's."""

import pyarrow as pa

from customer_analytics.rules.identifiers import MAX_CONTRACT_LENGTH, MAX_USER_ID_LENGTH
from customer_analytics.rules.tables import field, table

# The web clickstream (docs/web.md). Times are UTC, stored without a zone as the search log's.
WEB_EVENT_FIELDS = pa.schema(
    [
        field("batch", pa.int64(), "Sequence number of the batch that delivered the event", False),
        field("position", pa.int64(), "0-based index of the event in its batch", False),
        field("sent_epoch", pa.float64(), "When the batch was sent, epoch seconds", False),
        field("is_object", pa.bool_(), "Whether the event is a JSON object", False),
        field(
            "is_unicode",
            pa.bool_(),
            "Whether its text is valid Unicode (no lone surrogate); if not, it is escaped",
            False,
        ),
        *(
            field(name, pa.string(), f"{name}, trimmed; NULL if absent or not text")
            for name in ("session_id", "user_id", "event_type", "page", "device", "browser")
        ),
        field("anonymous_id", pa.string(), "The stable id a session without user_id gets"),
        field("timestamp_unit", pa.string(), "seconds, milliseconds, invalid, or NULL if absent"),
        field("event_epoch", pa.float64(), "When it happened, epoch seconds"),
        field("event_time", pa.timestamp("us"), "When it happened, UTC"),
        field("extra_fields", pa.string(), "Fields outside the known ones, comma-separated"),
        field("record", pa.string(), "The event as JSON", False),
    ]
)

RAW_WEB_EVENTS = pa.schema(
    [
        field("event_time", pa.timestamp("us"), "When it happened, UTC", False),
        field("event_epoch", pa.float64(), "When it happened, epoch seconds", False),
        field("session_id", pa.string(), "Session id, trimmed", False),
        field(
            "user_id",
            pa.string(),
            "User id, or the session's anonymous id",
            False,
            max_length=MAX_USER_ID_LENGTH,
        ),
        field("is_anonymous", pa.bool_(), "Whether user_id was missing", False),
        field("event_type", pa.string(), "view, scroll, click, like or comment", False),
        field("page", pa.string(), "Page, trimmed", False),
        field("device", pa.string(), "Device, or 'unknown'", False),
        field("browser", pa.string(), "Browser, or 'unknown'", False),
        field("timestamp_unit", pa.string(), "Unit the timestamp was sent in", False),
        field("is_late", pa.bool_(), "Delivered more than an hour after it happened", False),
        field("batch", pa.int64(), "Batch that delivered it", False),
        field("position", pa.int64(), "Index in that batch", False),
    ]
)

WEB_QUARANTINE = pa.schema(
    [
        field("hour_start", pa.timestamp("us"), "The hour folder it landed in, UTC", False),
        field("batch", pa.int64(), "Batch that delivered it", False),
        field("position", pa.int64(), "Index in that batch", False),
        field("reason", pa.string(), "First rule the event fails", False),
        field("record", pa.string(), "The event as JSON", False),
    ]
)

WEB_EXTRA_COLUMNS = pa.schema(
    [
        field("hour_start", pa.timestamp("us"), "The hour folder it landed in, UTC", False),
        field("batch", pa.int64(), "Batch that delivered it", False),
        field("position", pa.int64(), "Index in that batch", False),
        field("session_id", pa.string(), "Session id, trimmed"),
        field("extra_fields", pa.string(), "The fields outside the known ones", False),
        field("record", pa.string(), "The whole event as JSON", False),
    ]
)

WEB_SESSIONS = table(
    [
        field("date", pa.date32(), "Day the session started, UTC", False),
        field("session_id", pa.string(), "Session id", False),
        field(
            "user_id",
            pa.string(),
            "The session's first known user, else its anonymous id",
            False,
            max_length=MAX_USER_ID_LENGTH,
        ),
        field("is_anonymous", pa.bool_(), "Whether no event of it named a user", False),
        field("session_start", pa.timestamp("us"), "First event, UTC", False),
        field("session_end", pa.timestamp("us"), "Last event, UTC", False),
        field("duration_seconds", pa.float64(), "End minus start", False),
        field("events", pa.int64(), "Events of the session", False),
        field("unique_pages", pa.int64(), "Distinct pages", False),
        field("first_event", pa.string(), "Type of the first event by time", False),
        field("last_event", pa.string(), "Type of the last event by time", False),
        field("device", pa.string(), "Device of the first event", False),
        field("browser", pa.string(), "Browser of the first event", False),
        field("interactions", pa.int64(), "Clicks, likes and comments", False),
        field("engagement_score", pa.float64(), "Sum of the event types' weights", False),
    ],
    primary_key=("date", "session_id"),
)

CRM_CUSTOMERS = table(
    [
        field(
            "customer_id",
            pa.string(),
            "Customer id, the user_id of the web events",
            False,
            max_length=MAX_USER_ID_LENGTH,
        ),
        field(
            "contract",
            pa.string(),
            "Contract of the viewing profile",
            False,
            max_length=MAX_CONTRACT_LENGTH,
        ),
        field("loyalty_tier", pa.string(), "Bronze, Silver, Gold or Platinum", False),
        field("rating", pa.int64(), "The customer's rating of the service, 1 to 5", False),
    ],
    primary_key=("customer_id",),
)

CUSTOMER_LOYALTY = table(
    [
        field("month", pa.date32(), "First day of the month", False),
        field("customer_id", pa.string(), "Customer id", False, max_length=MAX_USER_ID_LENGTH),
        field(
            "contract",
            pa.string(),
            "Contract (joins customer_content_stats); NULL if not in CRM",
            max_length=MAX_CONTRACT_LENGTH,
        ),
        field("loyalty_tier", pa.string(), "CRM loyalty tier; NULL if not in CRM"),
        field("rating", pa.int64(), "CRM rating; NULL if not in CRM"),
        field("sessions", pa.int64(), "Sessions started in the month", False),
        field("events", pa.int64(), "Events of those sessions", False),
        field("engagement_score", pa.float64(), "Sum of the sessions' engagement scores", False),
        field("engagement_per_session", pa.float64(), "Engagement score per session", False),
        field("loyalty_interactions", pa.int64(), "Clicks, likes and comments of the month", False),
        field("loyalty_rate_pct", pa.float64(), "Loyalty interactions per 100 events", False),
    ],
    primary_key=("month", "customer_id"),
)
