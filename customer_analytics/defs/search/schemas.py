"""The search log's files and tables: one Arrow schema each, with a description per column."""

import pyarrow as pa

from customer_analytics.rules.identifiers import MAX_KEYWORD_LENGTH, MAX_USER_ID_LENGTH
from customer_analytics.rules.tables import field, table

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
        field("date", pa.date32(), "Day of the log folder", False),
        field("eventID", pa.string(), "Event id, unique within the day"),
        field("datetime", pa.timestamp("us"), "When the search was made"),
        field(
            "user_id",
            pa.string(),
            "User id, trimmed; leading zeros matter",
            False,
            max_length=MAX_USER_ID_LENGTH,
        ),
        field(
            "keyword",
            pa.string(),
            "Normalized keyword (NFC, trimmed, one space, lower)",
            False,
            max_length=MAX_KEYWORD_LENGTH,
        ),
        field("raw_keyword", pa.string(), "Keyword as typed", max_length=MAX_KEYWORD_LENGTH),
        field("platform", pa.string(), "Client platform"),
        field("proxy_isp", pa.string(), "Internet provider"),
        field("networkType", pa.string(), "Network type"),
    ]
)

SEARCH_QUARANTINE = pa.schema(
    [
        field("date", pa.date32(), "Day of the log folder", False),
        field(
            "row_number", pa.int64(), "1-based row in the day's part files, in name order", False
        ),
        field("reason", pa.string(), "First rule the row fails", False),
        field("record", pa.string(), "The row as JSON", False),
    ]
)

MONTHLY_TOP_KEYWORD = table(
    [
        field("month", pa.date32(), "First day of the month", False),
        field("user_id", pa.string(), "User id", False, max_length=MAX_USER_ID_LENGTH),
        field(
            "keyword",
            pa.string(),
            "The user's most searched keyword of the month",
            False,
            max_length=MAX_KEYWORD_LENGTH,
        ),
        field("search_count", pa.int64(), "Searches of that keyword in the month", False),
        field("total_searches", pa.int64(), "All valid searches of the user in the month", False),
    ],
    primary_key=("month", "user_id"),
)

KEYWORD_CATEGORY = table(
    [
        field("keyword", pa.string(), "Normalized keyword", False, max_length=MAX_KEYWORD_LENGTH),
        field("category", pa.string(), "One of the 14 keyword categories", False),
        field("source", pa.string(), "Classifier that answered: rules or openai", False),
        field("model", pa.string(), "Lexicon version or model name", False),
        field("classified_at", pa.timestamp("us", tz="UTC"), "When it was classified", False),
    ],
    primary_key=("keyword",),
)
