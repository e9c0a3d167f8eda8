"""The production warehouse: MySQL or MariaDB through SQLAlchemy and PyMySQL.

A partition is replaced in one InnoDB transaction (DELETE the window, bulk-load the rows,
COMMIT), so readers under REPEATABLE READ see the old rows or the new ones, never none or both.
The bulk load is LOAD DATA LOCAL INFILE from a TSV that Arrow writes, several times faster
than INSERTs; where the server or the client refuses local files, multi-row INSERTs stand in.
"""

import contextlib
import functools
import itertools
import logging
import os
import stat
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv
import pymysql
import sqlalchemy as sa

from customer_analytics.lib.metadata import shortened
from customer_analytics.lib.retries import TRANSIENT_MYSQL_ERRORS
from customer_analytics.rules.tables import max_length, primary_key

log = logging.getLogger(__name__)
T = TypeVar("T")

# utf8mb4 takes up to 4 bytes a character and an InnoDB key at most 3,072 bytes: ids get 255
# characters, free-text keywords 500, and a key of a keyword, an id and a date still fits.
# A column's length is its schema's `max_length`, the rules' own maximum: a longer value is
# quarantined before it reaches a warehouse, so strict mode never meets one.
VARCHAR_LENGTH = 255
# Free text that nothing looks up, of any length (a dirty raw line can be long).
TEXT_COLUMNS = {"raw_line", "record"}
# Partition columns and the keyword categories, matched case-insensitively; indexed where present
# unless they already lead the primary key. The profiles' few-valued columns (MostWatch, Taste,
# taste) are not: a filter on one of them reads a large share of the table, which a scan serves
# as well, and their indexes made the monthly load of the profiles 40% slower.
INDEXED_COLUMNS = {"date", "month", "category"}
TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

# MySQL type (information_schema DATA_TYPE) → Arrow type of the values read back.
ARROW_TYPES = {
    "date": pa.date32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "datetime": pa.timestamp("us"),
    "varchar": pa.string(),
    "mediumtext": pa.string(),
}

INSERT_BATCH_ROWS = 10_000
TSV_CHUNK_ROWS = 100_000
READ_CHUNK_ROWS = 50_000
RETRIES = 3
BACKOFF_SECONDS = 0.5
# Longer than InnoDB's default lock wait (50 s), during which the server may stop reading.
WRITE_TIMEOUT_SECONDS = 60

# LOAD DATA LOCAL refused by the server or the client (MySQL 5, MySQL 8, MariaDB).
LOCAL_INFILE_REFUSED = {1148, 3948, 4166}
# Worth another try (lib/retries.py): no connection, a lock wait or a deadlock. Any other
# error fails at once, as a dg.Failure that the step's RetryPolicy does not retry either.
TRANSIENT = TRANSIENT_MYSQL_ERRORS
# The TSV of a bulk load lies in a folder of the user's own under the temporary directory,
# named `<pid>-<random>.tsv`: a load killed with its process (SIGKILL runs no `finally`) leaves
# it there, and the next load removes it once that process is gone or the file is this old.
TSV_FOLDER = "customer_analytics-warehouse-{uid}"
STALE_TSV_SECONDS = 6 * 3600

# Servers (URLs without password) that refused LOAD DATA LOCAL in this process.
_refusing_servers: set[str] = set()


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def mysql_type(field: pa.Field, indexed: bool) -> str:
    arrow_type = field.type
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_timestamp(arrow_type):
        return "DATETIME(6)"  # zone-aware values are stored as UTC
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        if field.name in TEXT_COLUMNS and not indexed:
            return "MEDIUMTEXT"
        return f"VARCHAR({max_length(field) or VARCHAR_LENGTH})"
    raise TypeError(f"No warehouse type for Arrow type {arrow_type} of column {field.name}")


def _key(schema: pa.Schema) -> list[str]:
    return [column for column in primary_key(schema) if column]


def _secondary_indexes(schema: pa.Schema) -> list[str]:
    key = _key(schema)
    return [
        name for name in schema.names if name.lower() in INDEXED_COLUMNS and name not in key[:1]
    ]


def column_types(schema: pa.Schema) -> dict[str, str]:
    indexed = {*_key(schema), *_secondary_indexes(schema)}
    return {field.name: mysql_type(field, field.name in indexed) for field in schema}


def create_table_sql(table: str, schema: pa.Schema) -> str:
    types = column_types(schema)
    lines = []
    for field in schema:
        line = f"{quoted(field.name)} {types[field.name]}{'' if field.nullable else ' NOT NULL'}"
        description = (field.metadata or {}).get(b"description")
        if description:  # shown by SQL clients and Metabase
            line += f" COMMENT {_literal(description.decode())}"
        lines.append(line)
    if key := _key(schema):
        lines.append(f"PRIMARY KEY ({', '.join(map(quoted, key))})")
    lines += [f"KEY {quoted('ix_' + name)} ({quoted(name)})" for name in _secondary_indexes(schema)]
    return (
        f"CREATE TABLE IF NOT EXISTS {quoted(table)} (\n  "
        + ",\n  ".join(lines)
        + f"\n) {TABLE_OPTIONS}"
    )


def _storable(rows: pa.Table) -> pa.Table:
    """The rows in primary-key order, zone-aware timestamps as their UTC wall time (DATETIME
    has no zone). InnoDB keeps a table in key order: rows that come in that order are appended,
    in random order they split pages all over the index (13 times slower for 1 M profiles)."""
    for index, field in enumerate(rows.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz:
            naive = pa.timestamp(field.type.unit)
            rows = rows.set_column(index, field.with_type(naive), rows.column(index).cast(naive))
    key = _key(rows.schema)
    if key and not _in_key_order(rows, key):
        # Arrow orders strings by code point, as the utf8mb4_bin collation does.
        rows = rows.sort_by([(column, "ascending") for column in key])
    return rows


def _in_key_order(rows: pa.Table, key: list[str]) -> bool:
    """Whether each row's key is at most the next one's (the engines' results come sorted):
    comparing neighbours is a fraction of a sort."""
    if rows.num_rows < 2 or any(rows.column(column).null_count for column in key):
        return rows.num_rows < 2
    ordered = None  # from the last key column back: this column decides, or ties and the rest do
    for column in reversed(key):
        values = rows.column(column)
        before, after = values.slice(0, len(values) - 1), values.slice(1)
        if ordered is None:
            ordered = pc.less_equal(before, after)
        else:
            ordered = pc.or_(pc.less(before, after), pc.and_(pc.equal(before, after), ordered))
    return pc.all(ordered).as_py()


def _escaped(column: pa.Array) -> pa.Array:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    # One search for the four characters, so that clean text (nearly all) is not copied four times.
    if not pc.any(pc.match_substring_regex(column, r"[\\\t\n\r]")).as_py():
        return column
    # The backslash first, so that the escapes added after it stay single.
    for raw, escape in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        column = pc.replace_substring(column, raw, escape)
    return column


def write_tsv(rows: pa.Table, path: Path) -> None:
    """The rows as LOAD_DATA_SQL reads them: tab-separated, backslash escapes, NULL as \\N and
    strings in double quotes (Arrow doubles the quotes inside, which LOAD DATA undoes)."""
    options = csv.WriteOptions(
        include_header=False, delimiter="\t", null_string="\\N", batch_size=TSV_CHUNK_ROWS
    )
    with csv.CSVWriter(path, rows.schema, write_options=options) as writer:
        for batch in rows.to_batches(max_chunksize=TSV_CHUNK_ROWS):
            columns = [_escaped(column) for column in batch.columns]
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=rows.schema))


LOAD_DATA_SQL = r"""LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4
FIELDS TERMINATED BY '\t' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '\\'
LINES TERMINATED BY '\n' ({columns})"""


def _insert_sql(table: str, columns: list[str], suffix: str = "") -> str:
    # Only placeholders after VALUES: PyMySQL then sends a batch as multi-row INSERTs.
    names = ", ".join(map(quoted, columns))
    values = ", ".join(["%s"] * len(columns))
    return f"INSERT INTO {quoted(table)} ({names}) VALUES ({values}){suffix}"


def _window_clause(window) -> tuple[str, tuple]:
    if window is None:
        return "", ()
    column, start, end = window
    return f" WHERE {quoted(column)} >= %s AND {quoted(column)} < %s", (start, end)


def _error_code(error: sa.exc.DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _transient_cause(error: BaseException | None) -> BaseException | None:
    """The lost connection or deadlock behind a failure, if any. It may hide behind later
    errors: when the connection dies during a LOAD DATA LOCAL upload, PyMySQL goes on to raise
    AttributeError, and the ROLLBACK after it InterfaceError."""
    while error is not None:
        code = error.args[0] if isinstance(error, pymysql.err.MySQLError) and error.args else None
        if code in TRANSIENT:
            return error
        error = error.__cause__ or error.__context__
    return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove_orphan_tsvs(folder: Path) -> None:
    """Removes the TSVs of loads whose process is gone (or that are older than any load)."""
    for path in folder.glob("*.tsv"):
        writer = path.name.split("-", 1)[0]
        try:
            stale = time.time() - path.stat().st_mtime > STALE_TSV_SECONDS
        except FileNotFoundError:  # removed meanwhile by another load
            continue
        if stale or not (writer.isdigit() and _running(int(writer))):
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def _tsv_file() -> Iterator[Path]:
    """A path for the TSV of one load, removed when the load ends, and by the next load if the
    process is killed first."""
    folder = Path(tempfile.gettempdir()) / TSV_FOLDER.format(uid=os.getuid())
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        # The name is taken by another user: a private folder of this load's own.
        with tempfile.TemporaryDirectory(prefix="warehouse-") as private:
            yield Path(private) / "rows.tsv"
        return
    _remove_orphan_tsvs(folder)
    path = folder / f"{os.getpid()}-{uuid.uuid4().hex}.tsv"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@functools.cache
def _engine(url: str) -> sa.Engine:
    """One pool per URL and process, shared by every step that connects to it."""
    parsed = sa.make_url(url)
    connect_args = {
        "charset": "utf8mb4",
        # Strict: a value that does not fit fails instead of being cut, and no server default
        # (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) changes what the statements below mean.
        "sql_mode": "TRADITIONAL",
    }
    # Defaults that the URL's query may override. The bulk path needs the client's consent
    # (`?local_infile=0` withholds it). A killed or vanished server stops reading an upload
    # without closing the socket: without a write timeout the client waits minutes for TCP.
    defaults = {"local_infile": True, "write_timeout": WRITE_TIMEOUT_SECONDS}
    connect_args |= {name: value for name, value in defaults.items() if name not in parsed.query}
    return sa.create_engine(
        parsed, pool_pre_ping=True, isolation_level="REPEATABLE READ", connect_args=connect_args
    )


class MySQLWarehouse:
    def __init__(self, url: str, retries: int = RETRIES):
        self.engine = _engine(url)
        self.retries = retries
        self.safe_url = self.engine.url.render_as_string(hide_password=True)

    def _retrying(self, what: str, attempt: Callable[[], T], writing: bool = False) -> T:
        """Runs `attempt` again when the connection is lost: a transaction that did not commit
        was rolled back, and a replace or upsert that did gives the same rows a second time.
        Any other error of a write (bad data, a table of other columns) is a dg.Failure that
        Dagster does not retry either; a read raises its own error (LookupError...)."""
        for retry in itertools.count():
            try:
                return attempt()
            except Exception as error:
                cause = _transient_cause(error)
                if cause is None and writing:
                    raise dg.Failure(
                        f"{what} on {self.safe_url} failed: {shortened(error, 1_000)} (not "
                        "retried: a retry cannot fix this error)",
                        allow_retries=False,
                    ) from error
                if cause is None or retry >= self.retries:
                    raise
                delay = BACKOFF_SECONDS * 2**retry
                log.warning(
                    "%s on %s failed (%s); retry %d of %d in %.1f s",
                    what,
                    self.safe_url,
                    cause,
                    retry + 1,
                    self.retries,
                    delay,
                )
                time.sleep(delay)

    def _stored_types(self, conn: sa.Connection, table: str) -> dict[str, tuple[str, bool]]:
        """Column → (MySQL type, nullable) of the table, in column order; empty if it is absent."""
        rows = conn.exec_driver_sql(
            "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (table,),
        )
        return {name: (data_type.lower(), nullable == "YES") for name, data_type, nullable in rows}

    def _ensure_table(self, conn: sa.Connection, table: str, schema: pa.Schema) -> None:
        conn.exec_driver_sql(create_table_sql(table, schema))
        stored = {name: kind for name, (kind, _) in self._stored_types(conn, table).items()}
        wanted = {name: kind.split("(")[0].lower() for name, kind in column_types(schema).items()}
        differing = [
            f"{name} ({stored.get(name, 'absent')} in the table, "
            f"{wanted.get(name, 'absent')} in the rows)"
            for name in sorted(stored.keys() | wanted.keys())
            if stored.get(name) != wanted.get(name)
        ]
        if differing:
            raise ValueError(
                f"Warehouse table {table} on {self.safe_url} exists with other columns than the "
                f"rows: {', '.join(differing)}"
            )
        conn.commit()  # DDL commits anyway; the data's transaction then starts afresh

    def _write(
        self, what: str, table: str, rows: pa.Table, work: Callable[[sa.Connection], None]
    ) -> None:
        def attempt() -> None:
            with self.engine.connect() as conn:
                self._ensure_table(conn, table, rows.schema)
                with conn.begin():  # ROLLBACK on any error, COMMIT otherwise
                    work(conn)

        self._retrying(what, attempt, writing=True)

    @staticmethod
    def _executemany(conn: sa.Connection, sql: str, rows: pa.Table) -> None:
        for batch in rows.to_batches(max_chunksize=INSERT_BATCH_ROWS):
            if batch.num_rows:
                values = zip(*(column.to_pylist() for column in batch.columns), strict=True)
                conn.exec_driver_sql(sql, list(values))

    def _load_data(self, conn: sa.Connection, table: str, rows: pa.Table, tsv: Path) -> None:
        columns = ", ".join(map(quoted, rows.column_names))
        sql = LOAD_DATA_SQL.format(table=quoted(table), columns=columns)
        loaded = conn.exec_driver_sql(sql, (str(tsv),)).rowcount
        # With LOCAL the server cannot stop the upload, so it skips or alters a bad row (a
        # duplicate key, a value too long) with a warning instead of failing: fail here.
        warnings = [
            message
            for level, _, message in conn.exec_driver_sql("SHOW WARNINGS")
            if level != "Note"
        ]
        if loaded != rows.num_rows or warnings:
            raise ValueError(
                f"Loading warehouse table {table} stored {loaded:,} of {rows.num_rows:,} rows: "
                + "; ".join(warnings[:3])
            )

    def _insert(self, conn: sa.Connection, table: str, rows: pa.Table, tsv: Path | None) -> None:
        if tsv is not None and self.safe_url not in _refusing_servers:
            try:
                self._load_data(conn, table, rows, tsv)
                return
            except sa.exc.DBAPIError as error:
                if _error_code(error) not in LOCAL_INFILE_REFUSED:
                    raise
                # Refused before any row was read; the transaction goes on with INSERTs.
                _refusing_servers.add(self.safe_url)
                log.warning(
                    "LOAD DATA LOCAL INFILE is refused on %s (%s): loading with multi-row "
                    "INSERTs, several times slower; local_infile on the server (and not off in "
                    "the URL) speeds it up",
                    self.safe_url,
                    error.orig,
                )
        self._executemany(conn, _insert_sql(table, rows.column_names), rows)

    def replace(self, table: str, rows: pa.Table, window) -> None:
        rows = _storable(rows)
        where, parameters = _window_clause(window)
        # DELETE, not TRUNCATE: TRUNCATE commits at once and would show readers an empty table.
        delete = f"DELETE FROM {quoted(table)}{where}"
        with _tsv_file() as path:
            tsv = None
            if self.safe_url not in _refusing_servers:
                tsv = path
                write_tsv(rows, tsv)

            def work(conn: sa.Connection) -> None:
                conn.exec_driver_sql(delete, parameters)
                self._insert(conn, table, rows, tsv)

            self._write(f"Replacing {table}{where % parameters}", table, rows, work)

    def upsert(self, table: str, rows: pa.Table) -> None:
        rows = _storable(rows)
        key = _key(rows.schema)
        # A table of key columns only has nothing to update: `k = VALUES(k)` changes nothing.
        updated = [name for name in rows.column_names if name not in key] or key[:1]
        sql = _insert_sql(
            table,
            rows.column_names,
            " ON DUPLICATE KEY UPDATE "
            + ", ".join(f"{quoted(name)} = VALUES({quoted(name)})" for name in updated),
        )
        self._write(
            f"Upserting into {table}", table, rows, lambda conn: self._executemany(conn, sql, rows)
        )

    def read(self, table: str, window, schema: pa.Schema | None = None) -> pa.Table:
        where, parameters = _window_clause(window)

        def attempt() -> pa.Table:
            with self.engine.connect() as conn:
                if schema is not None and not self._stored_types(conn, table):
                    return schema.empty_table()
                result_schema = schema or self._stored_schema(conn, table)
                names = ", ".join(quoted(field.name) for field in result_schema)
                result = conn.execution_options(stream_results=True).exec_driver_sql(
                    f"SELECT {names} FROM {quoted(table)}{where}", parameters
                )
                batches = [
                    pa.RecordBatch.from_arrays(
                        [
                            pa.array(values, type=field.type)
                            for values, field in zip(
                                zip(*chunk, strict=True), result_schema, strict=True
                            )
                        ],
                        schema=result_schema,
                    )
                    for chunk in result.partitions(READ_CHUNK_ROWS)
                ]
            return pa.Table.from_batches(batches, schema=result_schema)

        return self._retrying(f"Reading {table}", attempt)

    def columns(self, table: str) -> list[str] | None:
        def attempt() -> list[str] | None:
            with self.engine.connect() as conn:
                return list(self._stored_types(conn, table)) or None

        return self._retrying(f"Listing the columns of {table}", attempt)

    def _stored_schema(self, conn: sa.Connection, table: str) -> pa.Schema:
        stored = self._stored_types(conn, table)
        if not stored:
            raise LookupError(f"Warehouse table {table} does not exist on {self.safe_url}")
        return pa.schema(
            [
                pa.field(name, ARROW_TYPES[kind], nullable)
                for name, (kind, nullable) in stored.items()
            ]
        )
