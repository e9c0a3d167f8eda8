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
