"""The viewing log's tables in the lake: one Arrow schema each, with a description per column."""

import pyarrow as pa

from customer_analytics.rules.identifiers import MAX_CONTRACT_LENGTH
from customer_analytics.rules.tables import field

RAW_LOG_CONTENT = pa.schema(
    [
        field("date", pa.date32(), "Day of the log file", False),
        field(
            "Contract",
            pa.string(),
            "Customer contract, trimmed",
            False,
            max_length=MAX_CONTRACT_LENGTH,
        ),
        field("Mac", pa.string(), "MAC address of the set-top box"),
        field("AppName", pa.string(), "Application as logged"),
        field("category", pa.string(), "Content category of the app", False),
        field("TotalDuration", pa.int64(), "Seconds watched", False),
        field("_id", pa.string(), "Elasticsearch id of the record"),
    ]
)

CONTENT_QUARANTINE = pa.schema(
    [
        field("date", pa.date32(), "Day of the log file", False),
        field("line_number", pa.int64(), "1-based line number in the day file", False),
        field("reason", pa.string(), "First rule the line fails", False),
        field("raw_line", pa.string(), "The line as it was read", False),
    ]
)
