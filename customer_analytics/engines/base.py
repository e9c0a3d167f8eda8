"""What the transforms ask of an engine, and the sources they hand it.

The transforms of both chains (`engines/content.py`, `engines/search.py`) are written once, as
SQL in DuckDB's dialect over named sources. An engine (`engines/duckdb.py`, `engines/spark.py`)
decodes the raw files into rows, runs that SQL (Spark renders it first, `engines/dialect.py`),
writes each result straight to the lake, and returns only small results to Python.
"""

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.dataset as ds

from customer_analytics.engines.storage import Location


@dataclass(frozen=True)
class LakeFiles:
    """Parquet files of the lake, by reference: each engine reads them itself, lazily."""

    location: Location
    relatives: tuple[str, ...]
    schema: pa.Schema | None = None  # None: the files' own

    def dataset(self) -> ds.Dataset:
        return self.location.dataset(list(self.relatives), schema=self.schema)

    def uris(self) -> list[str]:
        return [self.location.describe(relative) for relative in self.relatives]


@dataclass(frozen=True)
class Query:
    """SQL in DuckDB's dialect over named sources, and the schema of its result."""

    sql: str
    schema: pa.Schema | None = None
    sources: Mapping[str, "Source"] = field(default_factory=dict)


# A source is the lake by reference, a small Arrow table, another query, or what an engine
# returned itself (its decoded rows, a materialized result).
Source = LakeFiles | pa.Table | Query | Any


@dataclass(frozen=True)
class ParsedDay:
    """A day of raw log, split into the rows that pass every rule and those quarantined."""

    valid: Query
    quarantine: Query
    checked: Source  # every row with its reason (NULL when valid), for counting


class Engine(Protocol):
    name: str  # "duckdb" or "spark": the dialect its SQL is rendered in

    def content_lines(self, location: Location, relative: str) -> Source:
        """The lines of a viewing-log file, decoded: see `engines/content.py` DECODED_FIELDS."""

    def search_rows(self, events: pa.Table) -> Source:
        """A day of searches (numbered, keywords normalized) with each row as JSON, `record`."""

    def materialized(self, query: Query) -> AbstractContextManager[Source]:
        """The query computed once, for several queries over it; released on exit."""

    def write(self, query: Query, location: Location, relative: str) -> None:
        """Writes the result, cast to the query's schema, as one Parquet file."""

    def fetch(self, query: Query) -> pa.Table:
        """The result as an Arrow table, cast to the query's schema: for small results only."""

    def one_row(self, sql: str, **sources: Source) -> dict:
        """The single row of an aggregate query, as a dict of Python values."""

    def close(self) -> None: ...


def rows_by_value(engine: Engine, column: str, source: Source) -> Iterator[tuple[Any, int]]:
    """(value, rows) for each value of `column`, from an aggregate the engine computes."""
    counts = engine.fetch(
        Query(f"SELECT {column} AS value, count(*) AS n FROM t GROUP BY 1", sources={"t": source})
    )
    return zip(counts["value"].to_pylist(), counts["n"].to_pylist(), strict=True)
