"""The folders the assets read and write, local or in S3: the landing zone of raw logs, the
Parquet lake and the CSV exports."""

import calendar
import codecs
import csv
import io
import json
import re
from datetime import date, datetime

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pydantic
from dagster_aws.s3 import S3Resource

from customer_analytics.engines.base import LakeFiles
from customer_analytics.engines.storage import Location
from customer_analytics.lib.metadata import shortened
from customer_analytics.rules.csv_cells import spreadsheet_safe
from customer_analytics.rules.schemas import CRM_CUSTOMERS, LOG_SEARCH_FILE, WEB_EVENT_FIELDS
from customer_analytics.rules.web import event_fields


class Folder(dg.ConfigurableResource):
    """A folder the assets use: a local path or an `s3://` URI."""

    uri: str
    s3: S3Resource | None = None

    @property
    def location(self) -> Location:
        return Location(self.uri, self.s3)


class LandingZone(Folder):
    """The raw logs as the exports drop them: `log_content/YYYYMMDD.json`,
    `log_search/YYYYMMDD/part-*.parquet`, the clickstream batches the poller lands,
    `web_events/YYYY/MM/DD/HH/batch-*.json`, and the CRM extract `crm/crm_customers.csv`."""

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
        version; a day's version changes when its file, or a part file of its folder, does.
        For "web_events", the hours present (`web_hours_arrived`)."""
        if log == WEB_EVENTS:
            return self.web_hours_arrived()
        days: dict[str, list[str]] = {}
        for path, version in self.location.file_versions(log).items():
            name = path.removeprefix(f"{log}/").split("/")[0].removesuffix(".json")
            if len(name) == 8 and name.isdigit() and path.endswith((".json", ".parquet")):
                days.setdefault(f"{name[:4]}-{name[4:6]}-{name[6:]}", []).append(version)
        return {day: "+".join(sorted(versions)) for day, versions in days.items()}

    @staticmethod
    def web_hour_folder(hour: datetime) -> str:
        return f"{WEB_EVENTS}/{hour:%Y/%m/%d/%H}"

    def web_hours_arrived(self) -> dict[str, str]:
        """The hours present in `web_events/` as hourly partition key → version; an hour's
        version changes when a batch lands in it (late events too)."""
        hours: dict[str, list[str]] = {}
        for path, version in self.location.file_versions(WEB_EVENTS).items():
            if folder := WEB_HOUR_FOLDER.fullmatch(path):
                year, month, day, hour = folder.groups()
                hours.setdefault(f"{year}-{month}-{day}-{hour}:00", []).append(version)
        return {hour: "+".join(sorted(versions)) for hour, versions in hours.items()}

    def read_web_hour(self, hour: datetime) -> pa.Table:
        """Every event landed in the hour's folder, batch by batch, as `WEB_EVENT_FIELDS`."""
        rows = []
        for relative in self.location.list_files(self.web_hour_folder(hour), ".json"):
            where = self.location.describe(relative)
            try:
                batch = json.loads(self.location.read_buffer(relative).to_pybytes())
                events = list(zip(batch["positions"], batch["events"], strict=True))
                number, sent = int(batch["batch"]), float(batch["sent_at"])
            except (ValueError, KeyError, TypeError) as error:
                raise dg.Failure(
                    f"{where} is not a batch the poller writes ({shortened(error)}): land it "
                    "again (delete it and poll from its cursor) or remove it",
                    allow_retries=False,
                ) from error
            for position, event in events:
                fields = event_fields(event)
                rows.append({"batch": number, "position": position, "sent_epoch": sent, **fields})
        return pa.Table.from_pylist(rows, schema=WEB_EVENT_FIELDS)

    def read_crm(self) -> pa.Table:
        """The CRM extract's columns of `CRM_CUSTOMERS`, every value as text whatever it holds,
        and `line`, the line of the file each row starts on (the header is line 1), for the
        rules to check and name the rows they refuse. Blank lines are skipped; other columns
        are ignored. A file that cannot be read so fails, naming the file and what is wrong:
        no header, no rows, a missing or repeated column, bytes that are not UTF-8, a row
        with another number of fields than the header, a field longer than the csv module
        reads (`csv.field_size_limit()`, 131,072 characters)."""
        where = self.location.describe(CRM_FILE)
        if not self.location.exists(CRM_FILE):
            raise dg.Failure(f"No CRM extract at {where}", allow_retries=False)
        text = _utf8_text(self.location.read_buffer(CRM_FILE).to_pybytes(), where)
        return _crm_columns(text, where)

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


WEB_EVENTS = "web_events"
WEB_HOUR_FOLDER = re.compile(
    rf"{WEB_EVENTS}/(\d{{4}})/(\d{{2}})/(\d{{2}})/(\d{{2}})/batch-[^/]+\.json"
)
CRM_FILE = "crm/crm_customers.csv"


def _utf8_text(data: bytes, where: str) -> str:
    """A file's bytes as UTF-8 text, without a byte-order mark; bytes of another encoding fail,
    naming the line of the first one."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode()
    except UnicodeDecodeError as error:
        # The lines before the bad byte, and its own (which the sentinel ends).
        line = len((data[: error.start] + b".").splitlines())
        raise dg.Failure(
            f"{where} line {line} is not UTF-8 text (byte {data[error.start]:#04x}): save it "
            "as UTF-8",
            allow_retries=False,
        ) from error


def _crm_positions(header: list[str], where: str) -> list[int]:
    """Where each column of `CRM_CUSTOMERS` is in the header. A column missing, or repeated
    (which of its values counts could not be told), fails."""
    names = CRM_CUSTOMERS.names
    missing = [name for name in names if name not in header]
    repeated = [name for name in names if header.count(name) > 1]
    problems = [f"lacks the column(s) {', '.join(missing)}"] if missing else []
    problems += [f"has the column(s) {', '.join(repeated)} more than once"] if repeated else []
    if problems:
        raise dg.Failure(
            f"{where} {' and '.join(problems)}: its header is {shortened(','.join(header))}, "
            f"expected the columns {', '.join(names)}",
            allow_retries=False,
        )
    return [header.index(name) for name in names]


def _crm_columns(text: str, where: str) -> pa.Table:
    """The columns of `CRM_CUSTOMERS` of a CSV text, as text, and the `line` each row starts
    on; blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header, positions, rows, lines, start = None, [], [], [], 1
    try:
        for fields in reader:
            # A quoted value may hold line breaks: the next row starts after the last line read.
            line, start = start, reader.line_num + 1
            if not fields:
                continue
            if header is None:
                header, positions = fields, _crm_positions(fields, where)
                continue
            if len(fields) != len(header):
                raise dg.Failure(
                    f"{where} line {line} has {len(fields)} fields where the header has "
                    f"{len(header)}",
                    allow_retries=False,
                )
            rows.append([fields[position] for position in positions])
            lines.append(line)
    except csv.Error as error:  # e.g. a field longer than csv.field_size_limit()
        raise dg.Failure(
            f"{where} line {start} cannot be read as CSV: {error}", allow_retries=False
        ) from error
    names = CRM_CUSTOMERS.names
    if header is None:
        raise dg.Failure(
            f"{where} is empty: expected a header ({','.join(names)}) and a row per customer",
            allow_retries=False,
        )
    if not rows:
        raise dg.Failure(f"{where} has a header and no rows", allow_retries=False)
    columns = {
        name: pa.array([row[index] for row in rows], pa.string())
        for index, name in enumerate(names)
    }
    return pa.table({**columns, "line": pa.array(lines, pa.int64())})


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


# An hourly partition key, `2022-04-01-13:00`.
HOUR_KEY = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{2}):00")


class Lake(Folder):
    """The Parquet lake: `<uri>/<asset>/<partition key>.parquet`; an hourly asset's partitions
    are Hive-style folders, `<asset>/year=2022/month=04/day=01/hour=13/part-0.parquet`, which
    DuckDB and Spark prune on `year`, `month`, `day` and `hour`."""

    @staticmethod
    def partition_file(asset: str, partition_key: str | None) -> str:
        if partition_key is None:
            return f"{asset}.parquet"
        if hour := HOUR_KEY.fullmatch(partition_key):
            year, month, day, hh = hour.groups()
            return f"{asset}/year={year}/month={month}/day={day}/hour={hh}/part-0.parquet"
        return f"{asset}/{partition_key}.parquet"

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
        """Writes `<name>/<partition_key>.csv`, or `<name>.csv` for an unpartitioned table, its
        text cells safe to open in a spreadsheet (`rules/csv_cells.py`)."""
        relative = f"{name}/{partition_key}.csv" if partition_key else f"{name}.csv"
        cells = spreadsheet_safe(table)
        self.location.write(relative, lambda sink: pacsv.write_csv(cells, sink))
        return self.location.describe(relative)

    def folder(self, name: str) -> str:
        return self.location.describe(name)


class Reports(Folder):
    """The analytics reports: `<YYYY-MM>/index.html` and its charts, one folder a month."""
