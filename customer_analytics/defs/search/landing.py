"""The search export in the landing zone: a day is a folder of Parquet part files,
`log_search/YYYYMMDD/part-*.parquet`, over some days of each month (SEARCH_EXPORT_DAYS)."""

import calendar
from datetime import date

import dagster as dg
import pyarrow as pa
import pydantic

from customer_analytics.defs.search.schemas import LOG_SEARCH_FILE
from customer_analytics.lib.lake import UNREADABLE
from customer_analytics.lib.landing import LandingZone
from customer_analytics.lib.metadata import shortened

FOLDER = "log_search"


def day_folder(day: date) -> str:
    return f"{FOLDER}/{day:%Y%m%d}"


class SearchExport(dg.ConfigurableResource):
    """The days of each month the search export covers (SEARCH_EXPORT_DAYS)."""

    days: list[int] = pydantic.Field(default_factory=lambda: list(range(1, 15)))

    def window(self, month: date) -> list[date]:
        """The days of `month` that the search export covers, in order; a day past the end of
        a shorter month is left out."""
        last = calendar.monthrange(month.year, month.month)[1]
        return [month.replace(day=day) for day in sorted(set(self.days)) if day <= last]


def read_search_day(landing: LandingZone, day: date, columns: tuple[str, ...]) -> pa.Table:
    """The day's part files in name order, rows numbered from 1 in that order, with the
    types of `LOG_SEARCH_FILE` (see `conformed`)."""
    parts = landing.location.list_files(day_folder(day), ".parquet")
    tables = []
    for part in parts:
        where = landing.location.describe(part)
        try:
            table = landing.location.read_parquet(part)
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
            f"No part-*.parquet file in {landing.location.describe(day_folder(day))}",
            allow_retries=False,
        )
    events = pa.concat_tables(tables)
    return events.append_column("row_number", pa.array(range(1, events.num_rows + 1), pa.int64()))


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
