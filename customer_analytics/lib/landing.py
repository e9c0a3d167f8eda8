"""The folders the assets read and write, local or in S3: the landing zone of raw logs, the
Parquet lake and the CSV exports."""

import calendar
from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pydantic
from dagster_aws.s3 import S3Resource

from customer_analytics.engines.base import LakeFiles
from customer_analytics.engines.storage import Location
from customer_analytics.lib.metadata import shortened
from customer_analytics.rules.schemas import LOG_SEARCH_FILE


class Folder(dg.ConfigurableResource):
    """A folder the assets use: a local path or an `s3://` URI."""

    uri: str
    s3: S3Resource | None = None

    @property
    def location(self) -> Location:
        return Location(self.uri, self.s3)


class LandingZone(Folder):
    """The raw logs as the exports drop them: `log_content/YYYYMMDD.json` and
    `log_search/YYYYMMDD/part-*.parquet`."""

    # The days of each month the search export covers (SEARCH_EXPORT_DAYS).
    search_export_days: list[int] = pydantic.Field(default_factory=lambda: list(range(1, 15)))

    def search_export_window(self, month: date) -> list[date]:
        """The days of `month` that the search export covers, in order; a day past the end of
        a shorter month is left out."""
        last = calendar.monthrange(month.year, month.month)[1]
        return [
            month.replace(day=day) for day in sorted(set(self.search_export_days)) if day <= last
        ]

    @staticmethod
    def content_file(day: date) -> str:
        return f"log_content/{day:%Y%m%d}.json"

    def missing(self, relatives: list[str]) -> list[str]:
        """The full URIs of those files or folders that do not exist."""
        return [self.location.describe(rel) for rel in relatives if not self.location.exists(rel)]

    @staticmethod
    def search_folder(day: date) -> str:
        return f"log_search/{day:%Y%m%d}"

    def arrived(self, log: str) -> dict[str, str]:
        """The days present for `log` ("log_content" or "log_search") as partition key →
        version; a day's version changes when its file, or a part file of its folder, does."""
        days: dict[str, list[str]] = {}
        for path, version in self.location.file_versions(log).items():
            name = path.removeprefix(f"{log}/").split("/")[0].removesuffix(".json")
            if len(name) == 8 and name.isdigit() and path.endswith((".json", ".parquet")):
                days.setdefault(f"{name[:4]}-{name[4:6]}-{name[6:]}", []).append(version)
        return {day: "+".join(sorted(versions)) for day, versions in days.items()}

    def read_search_day(self, day: date, columns: tuple[str, ...]) -> pa.Table:
        """The day's part files in name order, rows numbered from 1 in that order, with the
        types of `LOG_SEARCH_FILE` (see `conformed`)."""
        parts = self.location.list_files(self.search_folder(day), ".parquet")
        tables = []
        for part in parts:
            where = self.location.describe(part)
            try:
                table = self.location.read_parquet(part)
            except UNREADABLE as error:
                raise dg.Failure(
                    f"{where} is not a readable Parquet file: {shortened(error)}",
                    allow_retries=False,
                ) from error
            missing = [column for column in columns if column not in table.column_names]
            if missing:
                raise dg.Failure(
                    f"{where} lacks the column(s) {', '.join(missing)}", allow_retries=False
                )
            tables.append(conformed(table, LOG_SEARCH_FILE, columns, where))
        if not tables:
            raise dg.Failure(
                f"No part-*.parquet file in {self.location.describe(self.search_folder(day))}",
                allow_retries=False,
            )
        events = pa.concat_tables(tables)
        return events.append_column(
            "row_number", pa.array(range(1, events.num_rows + 1), pa.int64())
        )


# What Arrow raises for bytes that are not a Parquet file it can read (garbage, a truncated
# upload, an unsupported encoding); network errors are OSErrors and stay retryable.
UNREADABLE = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def _text(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    )


def _bytes(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_binary_view(arrow_type)
    )


def _list(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
        or pa.types.is_list_view(arrow_type)
        or pa.types.is_large_list_view(arrow_type)
    )


def _holds_text(found: pa.DataType, expected: pa.DataType) -> bool:
    """Whether `found` is another encoding of the text type `expected` (or of a list of it)."""
    if pa.types.is_null(found):  # a column with no value at all
        return True
    if pa.types.is_dictionary(found):
        found = found.value_type
    if _text(expected):
        return _text(found) or _bytes(found)
    if _list(expected):
        return _list(found) and _holds_text(found.value_type, expected.value_type)
    return False


def conformed(table: pa.Table, schema: pa.Schema, columns: tuple[str, ...], where: str) -> pa.Table:
    """The `columns` of a part file with the types of `schema`.

    Other encodings of text are cast: large_string, string_view, dictionary<string>, and
    binary that is valid UTF-8 (writers that do not mark their strings as such); so are
    lists of those and columns with no value at all. Anything else fails the day, naming the
    file, the column, the type found and the type expected: a number, above all, is not cast,
    since an id such as `0014111` cannot be told back from the number 14111.
    """
    cast = []
    for name in columns:
        column, expected = table[name], schema.field(name).type
        if column.type.equals(expected):
            cast.append(column)
            continue
        found = column.type
        if not _holds_text(found, expected):
            hint = (
                " (the ids are text whose leading zeros matter; the export must write them as "
                "strings)"
                if name == "user_id" and (pa.types.is_integer(found) or pa.types.is_floating(found))
                else ""
            )
            raise dg.Failure(  # a hostile file's type can be long (a struct of many fields)
                f"{where}: column {name} is {shortened(found)}, expected {expected}{hint}",
                allow_retries=False,
            )
        try:
            cast.append(column.cast(expected))
        except pa.ArrowInvalid as error:  # bytes that are not UTF-8
            raise dg.Failure(
                f"{where}: column {name} is {found}, expected {expected}, and holds bytes that "
                f"are not UTF-8 text ({shortened(error)})",
                allow_retries=False,
            ) from error
    return pa.Table.from_arrays(cast, schema=pa.schema([schema.field(name) for name in columns]))


class Lake(Folder):
    """The Parquet lake: `<uri>/<asset>/<partition key>.parquet`."""

    @staticmethod
    def partition_file(asset: str, partition_key: str | None) -> str:
        return f"{asset}.parquet" if partition_key is None else f"{asset}/{partition_key}.parquet"

    def write_partitions(
        self, asset: str, table: pa.Table, column: str | None, keys: list[str] | None
    ) -> str:
        """Writes one file per partition key, each holding the rows whose `column` is that day
        or month, and returns the asset's folder. Each file is replaced whole; a row outside
        `keys` is an error, not a silent drop."""
        if keys is None:
            parts = {None: table}
        else:
            parts = {
                key: table.filter(pc.equal(table[column], date.fromisoformat(key))) for key in keys
            }
            stray = table.num_rows - sum(part.num_rows for part in parts.values())
            if stray:
                raise dg.DagsterInvariantViolationError(
                    f"{stray} rows of {asset} have a {column} outside the partitions being "
                    f"materialized ({keys[0]}..{keys[-1]})"
                )
        for key, part in parts.items():
            self.location.write_parquet(self.partition_file(asset, key), part)
        return self.location.describe(asset)

    def files(
        self, asset: str, partition_keys: list[str | None], schema: pa.Schema | None = None
    ) -> LakeFiles:
        """Stored partitions of an asset, by reference, for an engine to read."""
        relatives = tuple(self.partition_file(asset, key) for key in partition_keys)
        return LakeFiles(self.location, relatives, schema)

    def stored(self, asset: str, partition_key: str) -> bool:
        """Whether a partition has been written."""
        return self.location.exists(self.partition_file(asset, partition_key))

    def row_count(self, asset: str, partition_key: str) -> int | None:
        """Rows of a stored partition, from the Parquet footer; None if never stored."""
        relative = self.partition_file(asset, partition_key)
        if not self.location.exists(relative):
            return None
        return self.location.parquet_row_count(relative)


class CsvExports(Folder):
    """Flat CSV copies of the serving tables, one file per partition, for spreadsheet users."""

    def write(self, name: str, partition_key: str | None, table: pa.Table) -> str:
        """Writes `<name>/<partition_key>.csv`, or `<name>.csv` for an unpartitioned table."""
        relative = f"{name}/{partition_key}.csv" if partition_key else f"{name}.csv"
        self.location.write(relative, lambda sink: pacsv.write_csv(table, sink))
        return self.location.describe(relative)

    def folder(self, name: str) -> str:
        return self.location.describe(name)


class Reports(Folder):
    """The analytics reports: `<YYYY-MM>/index.html` and its charts, one folder a month."""
