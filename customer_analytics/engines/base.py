"""What the transforms ask of an engine, and the sources they hand it.

Every domain's transforms (`defs/<domain>/transforms.py`) are written once, as SQL in DuckDB's
dialect over named sources. An engine (`engines/duckdb.py`, `engines/spark.py`) reads the raw
files into rows, runs that SQL (Spark renders it first, `engines/dialect.py`), writes each
result straight to the lake, and returns only small results to Python.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import pyarrow as pa
import pyarrow.dataset as ds

from customer_analytics.engines.storage import Location

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


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


# A source is the lake by reference, a small Arrow table, another query, or a DataFrame the Spark
# engine returned itself (its decoded rows, a materialized result) and is handed back; the DuckDB
# engine returns queries and tables. Only the engine that made a DataFrame reads it.
Source: TypeAlias = "LakeFiles | pa.Table | Query | DataFrame"


@dataclass(frozen=True)
class ParsedPartition:
    """A partition of a raw log (a day, an hour), split into the rows that pass every rule and
    those quarantined."""

    valid: Query
    quarantine: Query
    checked: Source  # every row with its reason (NULL when valid), for counting


class Engine(Protocol):
    name: str  # "duckdb" or "spark": the dialect its SQL is rendered in

    def text_lines(self, location: Location, relative: str) -> Source:
        """The lines of a text file: `line_number` (1-based physical line) and `raw_line` (its
        text, line ending and a leading byte-order mark removed)."""

    def native(self, sql: str, **sources: Source) -> Source:
        """SQL in the engine's own dialect, not rendered: for what only it can do (decoding
        JSON). DuckDB reads each source as a view of its name, Spark as `{name}`."""

    def with_json_record(self, rows: pa.Table, columns: Sequence[str]) -> Source:
        """The rows, and `columns` of each as one JSON object in `record` (nulls kept)."""

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
