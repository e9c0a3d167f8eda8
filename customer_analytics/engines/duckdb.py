"""The DuckDB engine: one in-process connection, Arrow in and out.

A local lake is scanned by DuckDB's own Parquet reader, one in S3 as lazy Arrow datasets
(through Arrow's filesystems); results stream to Parquet through DuckDB's COPY, so a day is
never held twice.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from itertools import count

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.engines.base import LakeFiles, Query, Source
from customer_analytics.engines.storage import Location
from customer_analytics.rules.sql import literal, literals

UTF8_BOM = b"\xef\xbb\xbf"
NEWLINE_CHUNK_BYTES = 1 << 20


def _newlines(buffer: np.ndarray) -> np.ndarray:
    """Offsets of the line feeds, a megabyte at a time: a mask of the whole day would be a
    fresh 300 MB array to fault in for every file, several times slower than the search."""
    return np.concatenate(
        [
            np.flatnonzero(buffer[at : at + NEWLINE_CHUNK_BYTES] == ord("\n")) + at
            for at in range(0, len(buffer), NEWLINE_CHUNK_BYTES)
        ]
        or [np.empty(0, np.int64)]
    )


def split_lines(data: bytes | pa.Buffer) -> pa.Table:
    """The physical lines of a newline-delimited file, numbered from 1, line endings removed.

    The lines are cut out of the file's own buffer (no copy per line). A UTF-8 byte-order mark
    that starts the file is not part of line 1. Bytes that are not UTF-8 are replaced rather than
    failing the day; such a line then fails validation on its own.
    """
    buffer = pa.py_buffer(data)
    start = len(UTF8_BOM) if buffer[: len(UTF8_BOM)].to_pybytes() == UTF8_BOM else 0
    ends = _newlines(np.frombuffer(buffer, np.uint8)) + 1
    if buffer.size > start and buffer[buffer.size - 1 :].to_pybytes() != b"\n":
        ends = np.append(ends, buffer.size)
    offsets = np.concatenate([[start], ends]).astype(np.int64)
    lines = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), buffer)
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return split_lines(buffer.to_pybytes().decode("utf-8", errors="replace").encode())
    return pa.table(
        {
            "line_number": np.arange(1, len(ends) + 1, dtype=np.int64),
            "raw_line": pc.utf8_rtrim(lines, "\r\n").cast(pa.string()),
        }
    )


class DuckDBEngine:
    """Each query registers its sources as views under their names for as long as it runs.

    Views live on the one connection, so a name that a source of an enclosing query already
    holds is refused rather than silently read as the other source."""

    name = "duckdb"
    computes_ranges = False

    def __init__(self) -> None:
        self.connection = duckdb.connect()
        self._temporary = count()
        self._bound: set[str] = set()

    def close(self) -> None:
        self.connection.close()

    def jobs(self) -> None:
        return None  # DuckDB runs queries, not jobs

    def text_lines(self, location: Location, relatives: Sequence[str]) -> pa.Table:
        return pa.concat_tables(
            [
                (lines := split_lines(location.read_buffer(relative))).add_column(
                    0, "file", pa.array(np.full(lines.num_rows, file, np.int32))
                )
                for file, relative in enumerate(relatives)
            ]
        )

    def native(self, sql: str, **sources: Source) -> Query:
        return Query(sql, sources=sources)  # DuckDB's dialect is the transforms' own

    def with_json_record(self, rows: pa.Table, columns: Sequence[str]) -> Query:
        members = ", ".join(f"{column} := {column}" for column in columns)
        return Query(
            f"SELECT *, CAST(to_json(struct_pack({members})) AS VARCHAR) AS record FROM rows",
            sources={"rows": rows},
        )

    @contextmanager
    def _relation(self, query: Query) -> Iterator[duckdb.DuckDBPyRelation]:
        with ExitStack() as views:
            for name, source in query.sources.items():
                views.enter_context(self._view(name, source))
            yield self.connection.sql(query.sql)

    @contextmanager
    def _view(self, name: str, source: Source) -> Iterator[None]:
        if name in self._bound:
            raise ValueError(
                f"Source name {name!r} is already bound by an enclosing or sibling query: "
                "give one of them another name"
            )
        self._bound.add(name)
        try:
            with self._bound_view(name, source):
                yield
        finally:
            self._bound.discard(name)

    @contextmanager
    def _bound_view(self, name: str, source: Source) -> Iterator[None]:
        if isinstance(source, Query):
            with self._relation(source) as relation, self._view_of(relation, name):
                yield
            return
        if isinstance(source, LakeFiles) and source.location.is_local and source.relatives:
            with self._view_of(self.connection.sql(self._parquet_scan(source)), name):
                yield
            return
        if isinstance(source, LakeFiles):
            source = source.dataset()
        self.connection.register(name, source)
        try:
            yield
        finally:
            self.connection.unregister(name)

    @contextmanager
    def _view_of(self, relation: duckdb.DuckDBPyRelation, name: str) -> Iterator[None]:
        relation.create_view(name)
        try:
            yield
        finally:
            self.connection.execute(f'DROP VIEW IF EXISTS "{name}"')

    def _parquet_scan(self, files: LakeFiles) -> str:
        """DuckDB's own Parquet reader over local files, several times faster than the same
        files through an Arrow dataset; with a schema, its columns by name and type."""
        scan = f"read_parquet([{literals(tuple(map(files.location.path, files.relatives)))}])"
        return f"SELECT {self._typed_columns(files.schema)} FROM {scan}"

    def _typed_columns(self, schema: pa.Schema | None) -> str:
        """The columns of `schema` by name, cast to DuckDB's types for them; all without one."""
        if schema is None:
            return "*"
        self.connection.register("_schema", schema.empty_table())
        try:
            types = self.connection.sql("DESCRIBE _schema").fetchall()
        finally:
            self.connection.unregister("_schema")
        return ", ".join(f'CAST("{name}" AS {type_}) AS "{name}"' for name, type_, *_ in types)

    @contextmanager
    def materialized(self, query: Query) -> Iterator[Query]:
        table = f"materialized_{next(self._temporary)}"
        with self._relation(query) as relation:
            relation.to_table(table)
        try:
            yield Query(f'SELECT * FROM "{table}"')
        finally:
            self.connection.execute(f'DROP TABLE IF EXISTS "{table}"')

    def write(
        self, query: Query, location: Location, files: Mapping[str, str], by: str | None = None
    ) -> None:
        """DuckDB's own COPY: the result streams to Parquet, encoded on every core; one COPY
        per partition, of the rows of its key."""
        with self._relation(query) as relation, self._view_of(relation, "_written"):
            for key, relative in files.items():
                rows = "" if len(files) == 1 else f" WHERE CAST({by} AS VARCHAR) = {literal(key)}"

                def copy(path: str, rows: str = rows) -> None:
                    self.connection.execute(
                        f"COPY (SELECT {self._typed_columns(query.schema)} FROM _written{rows}) "
                        f"TO {literal(path)} (FORMAT parquet, COMPRESSION snappy)"
                    )

                location.write_file(relative, copy)

    def fetch(self, query: Query) -> pa.Table:
        with self._relation(query) as relation:
            table = relation.to_arrow_table()
        return table if query.schema is None else table.cast(query.schema)

    def one_row(self, sql: str, **sources: Source) -> dict:
        with self._relation(Query(sql, sources=sources)) as relation:
            return dict(zip(relation.columns, relation.fetchone(), strict=True))
