"""The Spark engine: PySpark 4, local mode or a cluster (`spark://...`, or Spark Connect).

The transforms' SQL is rendered for Spark (`engines/dialect.py`); only the decoding of the raw
files is Spark's own. Nothing large comes back to the driver: the lake is read with
`spark.read.parquet`, each result is written by the executors and only aggregates are collected.
"""

import ipaddress
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import pyarrow as pa
import sqlglot
from sqlglot import exp

from customer_analytics.engines.base import LakeFiles, Query, Source
from customer_analytics.engines.dialect import render
from customer_analytics.engines.storage import Location
from customer_analytics.rules.sql import literal

# Raw days are read in splits of this size, so that a day of 275 MB keeps every core busy
# (Spark's 128 MB would make three splits for two cores).
SPLIT_BYTES = 32 * 1024 * 1024
# Spark never splits a file of at most its open cost: such a file is one block, whose lines'
# numbers need no count of the blocks before them (set, so that a server's setting cannot move it).
UNSPLIT_BYTES = 4 * 1024 * 1024
# What a session needs for the transforms to mean what they mean on DuckDB.
SESSION_CONFIG = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    # A JSON object with a repeated key keeps its last value instead of failing the line.
    "spark.sql.variant.allowDuplicateKeys": "true",
    # Timestamps as Parquet's INT64 microseconds, as Arrow writes them (not INT96).
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "snappy",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.files.maxPartitionBytes": str(SPLIT_BYTES),
    "spark.sql.files.openCostInBytes": str(UNSPLIT_BYTES),
    # HotSpot never compiles a method of over 8,000 bytes of bytecode (HugeMethodLimit): a
    # whole-stage method that large (the decode and the rules fused) would run interpreted, so
    # Spark is told to split such a stage instead (the checked lines of 10 days of 100,000 lines,
    # warm: 22 s before, 18 s after).
    "spark.sql.codegen.hugeMethodLimit": "8000",
}
_BLOCK_OFFSETS = pa.schema(
    [
        ("block_path", pa.string()),
        ("block_start", pa.int64()),
        ("file", pa.int32()),
        ("offset", pa.int64()),
    ]
)
# Shuffle partitions are sized to the data: one per this many bytes of input, at least one.
BYTES_PER_SHUFFLE_PARTITION = 128 * 1024 * 1024


def spark_config(
    master: str | None = None,
    remote: str | None = None,
    driver_memory: str = "4g",
    driver_host: str | None = None,
    driver_bind_address: str | None = None,
) -> dict[str, str]:
    """The session's configuration: a master (`local[*]`, `spark://host:7077`) or a Spark
    Connect server (`sc://host:15002`), where the driver listens, and SESSION_CONFIG."""
    where = {"spark.remote": remote} if remote else {"spark.master": master or "local[*]"}
    return {
        **where,
        "spark.app.name": "customer_analytics",
        "spark.ui.enabled": "false",
        "spark.driver.memory": driver_memory,
        # A Spark Connect client runs no driver.
        **(
            {}
            if remote
            else driver_addresses(master or "local[*]", driver_host, driver_bind_address)
        ),
        **SESSION_CONFIG,
    }


def driver_addresses(
    master: str, host: str | None = None, bind_address: str | None = None
) -> dict[str, str]:
    """Where the driver listens and the address it gives the cluster: loopback when the master
    is on this machine's loopback (nothing else must reach the driver, and a container's host
    name need not resolve), else Spark's default (the address of the machine's host name, where
    the cluster can call back); `host` and `bind_address` (SPARK_DRIVER_HOST,
    SPARK_DRIVER_BIND_ADDRESS) override them."""
    loopback = "127.0.0.1" if master_on_loopback(master) else None
    chosen = {
        "spark.driver.host": host or loopback,
        "spark.driver.bindAddress": bind_address or loopback,
    }
    return {key: address for key, address in chosen.items() if address}


def master_on_loopback(master: str) -> bool:
    """Local mode, or a standalone master (`spark://host:port`, standbys after commas) whose
    every host is localhost or a loopback address (127.0.0.0/8, ::1)."""
    if master.startswith("local"):
        return True
    if not master.startswith("spark://"):
        return False
    try:
        hosts = [
            urllib.parse.urlsplit(f"//{address}").hostname
            for address in master.removeprefix("spark://").split(",")
        ]
    except ValueError:  # `[` without an IPv6 address: Spark refuses the URL itself
        return False
    return all(map(host_on_loopback, hosts))


def host_on_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":  # urlsplit gives the host in lower case
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name other than localhost may resolve anywhere
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def spark_uri(uri: str) -> str:
    """Hadoop reads S3 through the s3a connector."""
    return "s3a://" + uri.removeprefix("s3://") if uri.startswith("s3://") else uri


# Spark has no line numbers: they come from the files' blocks. A line belongs to the block it
# starts in, and a block is read in order by one task, so its lines have consecutive positions
# (`monotonically_increasing_id`, the same on every read of the same files). A line's number is
# the lines of its file's blocks before its own plus its distance from the first line of its
# block: the blocks of every file are counted in one aggregate, and their offsets joined back. A
# single file of one block is the first of the first task: its first position is 0, no count.
_NUMBERED_LINES = """
    WITH numbered AS (
        SELECT {file} AS file, position + {offset} AS line_number,
               make_valid_utf8(TRIM(TRAILING '\\r' FROM value)) AS line, file_size
        FROM {{text}} {offsets}
    )
    SELECT file, line_number,
           CASE WHEN line_number = 1 THEN regexp_replace(line, '^\\uFEFF', '') ELSE line END
               AS raw_line
    FROM numbered
    -- A file that is only a byte-order mark has no line.
    WHERE NOT (file_size = 3 AND line_number = 1 AND line = '\\uFEFF')
"""
_OFFSETS_JOINED = "JOIN {offsets} ON file_path = block_path AND block = block_start"
# Where a partitioned write puts each partition's rows: `<folder>/_partition=<key>/`.
_PARTITION = "_partition"


def _distributed(tree: exp.Expression, by: str) -> exp.Select:
    """The query (Spark's dialect) with its partition's key (column `by` as text), all the rows
    of a partition in one task, in the query's order there: its ORDER BY becomes DISTRIBUTE BY
    the key, SORT BY the key then the same order (which may name columns it does not select)."""
    if not isinstance(tree, exp.Select):
        tree = exp.select("*").from_(tree.subquery("unordered"))
    order = tree.args.get("order")
    tree.set("order", None)
    tree = tree.select(exp.cast(exp.column(by), "STRING").as_(_PARTITION), copy=False)
    tree.set("distribute", exp.Distribute(expressions=[exp.column(_PARTITION)]))
    ordered = [exp.Ordered(this=exp.column(_PARTITION)), *(order.expressions if order else [])]
    tree.set("sort", exp.Sort(expressions=ordered))
    return tree


def _escaped(key: str) -> str:
    """A partition's key as Spark names its folder: `:` and the like escaped (`%3A`)."""
    return urllib.parse.quote(key, safe=" !$&()+,-.;<>@_`|~")


def _file_index(path: str, relatives: Sequence[str]) -> int:
    """The index of the file Spark names by `path` (a URI, escaped) among `relatives`."""
    unescaped = urllib.parse.unquote(path)
    (index,) = [i for i, relative in enumerate(relatives) if unescaped.endswith(f"/{relative}")]
    return index


class SparkEngine:
    """Runs on a SparkSession it is given (dagster-pyspark's, or a test's)."""

    name = "spark"
    computes_ranges = True

    def __init__(self, session) -> None:
        from pyspark.sql import functions

        self.session = session
        self._functions = functions
        self._views: list[str] = []
        # The jobs of this engine are told apart by a job group of their own (a classic session;
        # a Spark Connect client sees no jobs).
        self._job_group = None
        if not type(session).__module__.startswith("pyspark.sql.connect"):
            self._job_group = f"customer_analytics-{uuid.uuid4().hex}"
            session.sparkContext.setJobGroup(self._job_group, "customer_analytics engine")

    def jobs(self) -> int | None:
        if self._job_group is None:
            return None
        tracker = self.session.sparkContext.statusTracker()
        return len(tracker.getJobIdsForGroup(self._job_group))

    def close(self) -> None:
        for view in self._views:
            self.session.catalog.dropTempView(view)
        self._views.clear()

    def _view(self, name: str, frame) -> str:
        # A unique name, kept until the engine closes: a plan may be analysed only when it runs
        # (Spark Connect).
        unique = f"{name}_{uuid.uuid4().hex[:12]}"
        frame.createOrReplaceTempView(unique)
        self._views.append(unique)
        return unique

    def _rendered(self, query: Query, partitioned_by: str | None = None):
        """The query rendered for Spark, each source's name pointing at its own view; with
        `partitioned_by`, distributed by partition (`_distributed`)."""
        names = {name: self._view(name, self.frame(inner)) for name, inner in query.sources.items()}
        tree = sqlglot.parse_one(render(query.sql, "spark"), read="spark")
        for table in tree.find_all(exp.Table):
            if table.name in names and not table.args.get("db"):
                if not table.alias:  # columns qualified by the source's name still resolve
                    table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
                table.set("this", exp.to_identifier(names[table.name]))
        if partitioned_by:
            tree = _distributed(tree, partitioned_by)
        return self.session.sql(tree.sql(dialect="spark"))

    def frame(self, source: Source):
        if isinstance(source, Query):
            return self._rendered(source)
        if isinstance(source, LakeFiles):
            from pyspark.sql.pandas.types import from_arrow_schema

            self._size_shuffles(sum(map(source.location.size, source.relatives)))
            reader = self.session.read
            if source.schema is not None:
                reader = reader.schema(from_arrow_schema(source.schema))
            return reader.parquet(*map(spark_uri, source.uris()))
        if isinstance(source, pa.Table):
            return self.session.createDataFrame(source)
        return source  # a DataFrame of this engine

    def _size_shuffles(self, input_bytes: int) -> None:
        partitions = max(1, -(-input_bytes // BYTES_PER_SHUFFLE_PARTITION))
        self.session.conf.set("spark.sql.shuffle.partitions", str(partitions))

    def text_lines(self, location: Location, relatives: Sequence[str]):
        sizes = [location.size(relative) for relative in relatives]
        self._size_shuffles(sum(sizes))
        column = self._functions.col
        text = (
            self.session.read.option("lineSep", "\n")
            .text([spark_uri(location.describe(relative)) for relative in relatives])
            .select(
                "value",
                column("_metadata.file_path").alias("file_path"),
                column("_metadata.file_block_start").alias("block"),
                column("_metadata.file_size").alias("file_size"),
                self._functions.monotonically_increasing_id().alias("position"),
            )
        )
        if len(relatives) == 1 and sizes[0] <= UNSPLIT_BYTES:
            numbered = _NUMBERED_LINES.format(file=0, offset=1, offsets="")
            return self.session.sql(numbered, text=text)
        return self.session.sql(
            _NUMBERED_LINES.format(file="file", offset="offset", offsets=_OFFSETS_JOINED),
            text=text,
            offsets=self._block_offsets(text, relatives),
        )

    def _block_offsets(self, text, relatives: Sequence[str]):
        """Each block's file and what turns a position in it into a line number, from one
        aggregate over every file."""
        functions = self._functions
        # A few rows a file: ordered on the driver, not by a sort of Spark's.
        blocks = sorted(
            text.groupBy("file_path", "block")
            .agg(functions.count("*").alias("lines"), functions.min("position"))
            .collect()
        )
        offsets: dict[str, list] = {"block_path": [], "block_start": [], "file": [], "offset": []}
        before: dict[str, int] = {}
        for path, block, lines, first_position in blocks:
            offsets["block_path"].append(path)
            offsets["block_start"].append(block)
            offsets["file"].append(_file_index(path, relatives))
            offsets["offset"].append(before.get(path, 0) - first_position + 1)
            before[path] = before.get(path, 0) + lines
        return functions.broadcast(
            self.session.createDataFrame(
                pa.table(offsets, schema=_BLOCK_OFFSETS) if blocks else _BLOCK_OFFSETS.empty_table()
            )
        )

    def native(self, sql: str, **sources: Source):
        return self.session.sql(
            sql, **{name: self.frame(source) for name, source in sources.items()}
        )

    def with_json_record(self, rows: pa.Table, columns: Sequence[str]):
        self._size_shuffles(rows.nbytes)
        members = ", ".join(f"{literal(column)}, {column}" for column in columns)
        return self.session.sql(
            f"SELECT *, to_json(named_struct({members}), map('ignoreNullFields', 'false'))"
            " AS record FROM {rows}",
            rows=self.session.createDataFrame(rows),
        )

    def _typed(self, frame, schema: pa.Schema | None, *kept: str):
        """The frame cast to the schema, and the columns `kept` as they are."""
        if schema is None:
            return frame
        from pyspark.sql.pandas.types import from_arrow_type

        column = self._functions.col
        return frame.select(
            *(column(f"`{f.name}`").cast(from_arrow_type(f.type)).alias(f.name) for f in schema),
            *kept,
        )

    @contextmanager
    def materialized(self, query: Query) -> Iterator:
        frame = self.frame(query).persist()
        frame.count()
        try:
            yield frame
        finally:
            frame.unpersist()

    def write(
        self, query: Query, location: Location, files: Mapping[str, str], by: str | None = None
    ) -> None:
        """The executors write the result into a folder beside the targets, one task per
        partition (a range's partitions in parallel, each in its order); each partition's part
        file is then moved to its target name."""
        first = next(iter(files.values()))
        folder = f"{first}.spark-{uuid.uuid4().hex}"
        try:
            if len(files) == 1:
                self._typed(self.frame(query), query.schema).coalesce(1).write.mode(
                    "overwrite"
                ).parquet(spark_uri(location.describe(folder)))
                (part,) = location.list_files(folder, ".parquet")
                location.move(part, first)
                return
            partitioned = self._typed(self._rendered(query, by), query.schema, _PARTITION)
            partitioned.write.partitionBy(_PARTITION).mode("overwrite").parquet(
                spark_uri(location.describe(folder))
            )
            for key, relative in files.items():
                parts = location.list_files(f"{folder}/{_PARTITION}={_escaped(key)}", ".parquet")
                if parts:
                    (part,) = parts
                    location.move(part, relative)
                else:
                    location.write_parquet(relative, query.schema.empty_table())
        finally:
            location.delete_tree(folder)

    def fetch(self, query: Query) -> pa.Table:
        table = self._typed(self.frame(query), query.schema).toArrow()
        return table if query.schema is None else table.cast(query.schema)

    def one_row(self, sql: str, **sources: Source) -> dict:
        (row,) = self.frame(Query(sql, sources=sources)).collect()
        return row.asDict()
