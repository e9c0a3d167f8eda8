"""How a table is declared (one Arrow schema, a description per column, its primary key and the
longest text a column holds), and the tables that more than one domain reads: the viewing
log's daily pivot and monthly profile, the search log's monthly stats. Each domain declares its
own tables in its `schemas.py`.

The IO managers derive warehouse DDL and Dagster's column schema from these, so a column is
declared in exactly one place.
"""

import pyarrow as pa

from customer_analytics.rules.identifiers import (
    MAX_CONTRACT_LENGTH,
    MAX_KEYWORD_LENGTH,
    MAX_USER_ID_LENGTH,
)
from customer_analytics.rules.viewing import CATEGORIES, TOTAL_COLUMNS


def field(
    name: str,
    type_: pa.DataType,
    description: str,
    nullable: bool = True,
    max_length: int | None = None,
) -> pa.Field:
    """A column; `max_length`: the most characters a text column holds, the rules' own limit
    (the warehouse sizes its VARCHAR by it, see `max_length`)."""
    metadata = {"description": description}
    if max_length is not None:
        metadata["max_length"] = str(max_length)
    return pa.field(name, type_, nullable=nullable, metadata=metadata)


def max_length(column: pa.Field) -> int | None:
    """The most characters a text column holds, as its schema declares; None: not declared."""
    declared = (column.metadata or {}).get(b"max_length")
    return None if declared is None else int(declared)


def table(fields: list[pa.Field], primary_key: tuple[str, ...]) -> pa.Schema:
    return pa.schema(fields, metadata={"primary_key": ",".join(primary_key)})


def primary_key(schema: pa.Schema) -> list[str]:
    return (schema.metadata or {}).get(b"primary_key", b"").decode().split(",")


def totals(period: str) -> list[pa.Field]:
    return [
        field(column, pa.int64(), f"Seconds watched in {category} over the {period}", False)
        for column, category in zip(TOTAL_COLUMNS, CATEGORIES, strict=True)
    ]


DAILY_PIVOT = table(
    [
        field("date", pa.date32(), "Day", False),
        field("Contract", pa.string(), "Customer contract", False, max_length=MAX_CONTRACT_LENGTH),
        *totals("day"),
    ],
    primary_key=("date", "Contract"),
)

CUSTOMER_CONTENT_STATS = table(
    [
        field("month", pa.date32(), "First day of the month", False),
        field("Contract", pa.string(), "Customer contract", False, max_length=MAX_CONTRACT_LENGTH),
        *totals("month"),
        field("Active", pa.int64(), "Days of the month with at least one valid record", False),
        field("MostWatch", pa.string(), "Category with the largest total"),
        field("Taste", pa.string(), "Watched categories joined by '-'"),
    ],
    primary_key=("month", "Contract"),
)

CUSTOMER_SEARCH_STATS = table(
    [
        field("month", pa.date32(), "First day of the month M", False),
        field("user_id", pa.string(), "User id", False, max_length=MAX_USER_ID_LENGTH),
        field(
            "keyword_prev", pa.string(), "Top keyword of month M-1", max_length=MAX_KEYWORD_LENGTH
        ),
        field("category_prev", pa.string(), "Its category"),
        field("keyword_cur", pa.string(), "Top keyword of month M", max_length=MAX_KEYWORD_LENGTH),
        field("category_cur", pa.string(), "Its category"),
        field("taste", pa.string(), "Unchanged, Changed, New or Churned", False),
    ],
    primary_key=("month", "user_id"),
)
