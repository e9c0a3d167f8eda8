"""What the transforms ask of an engine, and the sources they hand it.

Every domain's transforms (`defs/<domain>/transforms.py`) are written once, as SQL in DuckDB's
dialect over named sources. An engine (`engines/duckdb.py`, `engines/spark.py`) reads the raw
files into rows, runs that SQL (Spark renders it first, `engines/dialect.py`), writes each
result straight to the lake, and returns only small results to Python.
"""

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeAlias

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
    """Partitions of a raw log (a day, an hour, or a range of days parsed in one plan), split
    into the rows that pass every rule and those quarantined. Over a range, every part has the
    partition's column (`date`)."""

    valid: Query
    quarantine: Query
    checked: Source  # every row with its reason (NULL when valid), for counting


class Engine(Protocol):
    name: str  # "duckdb" or "spark": the dialect its SQL is rendered in
    # Whether a range of partitions is computed as one plan (Spark: the jobs of a backfill do not
    # grow with its days) or one partition at a time (DuckDB: memory bounded by one partition).
    computes_ranges: bool

    def text_lines(self, location: Location, relatives: Sequence[str]) -> Source:
        """The lines of text files: `file` (the file's index in `relatives`), `line_number`
        (1-based physical line of its file) and `raw_line` (its text, line ending and a leading
        byte-order mark removed)."""

    def native(self, sql: str, **sources: Source) -> Source:
        """SQL in the engine's own dialect, not rendered: for what only it can do (decoding
        JSON). DuckDB reads each source as a view of its name, Spark as `{name}`."""

    def with_json_record(self, rows: pa.Table, columns: Sequence[str]) -> Source:
        """The rows, and `columns` of each as one JSON object in `record` (nulls kept)."""

    def materialized(self, query: Query) -> AbstractContextManager[Source]:
        """The query computed once, for several queries over it; released on exit."""

    def write(
        self, query: Query, location: Location, files: Mapping[str, str], by: str | None = None
    ) -> None:
        """Writes the result, cast to the query's schema, as one Parquet file per partition:
        `files` maps each partition's key to its file, and a row goes to the key that its
        column `by` reads as text. A partition without rows gets a file without rows; a single
        file takes every row (`by` may then be None)."""

    def fetch(self, query: Query) -> pa.Table:
        """The result as an Arrow table, cast to the query's schema: for small results only."""

    def one_row(self, sql: str, **sources: Source) -> dict:
        """The single row of an aggregate query, as a dict of Python values."""

    def jobs(self) -> int | None:
        """The jobs the engine has run since it was made (Spark's, on a classic session), for
        the run's metadata; None where there is no such count."""

    def close(self) -> None: ...


def rows_by_values(engine: Engine, columns: Sequence[str], source: Source) -> dict[tuple, int]:
    """Rows for each combination of values of `columns` (SQL expressions), from one aggregate
    the engine computes."""
    selected = ", ".join(f"{column} AS value_{i}" for i, column in enumerate(columns))
    grouped = ", ".join(str(i) for i in range(1, len(columns) + 1))
    counts = engine.fetch(
        Query(f"SELECT {selected}, count(*) AS n FROM t GROUP BY {grouped}", sources={"t": source})
    )
    *values, rows = counts.to_pydict().values()
    return dict(zip(zip(*values, strict=True), rows, strict=True))


def partition_batches(engine: Engine, keys: Sequence[str], ranges: bool = True) -> list[list[str]]:
    """The partitions of a run in the groups the engine computes at once (`computes_ranges`);
    one at a time when `ranges` is False (a source read in Python, a partition at a time)."""
    if engine.computes_ranges and ranges:
        return [list(keys)] if keys else []
    return [[key] for key in keys]
