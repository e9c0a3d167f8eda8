"""Search part files whose columns drift from `LOG_SEARCH_FILE`: other encodings of text are
read as text, anything else fails the day naming the file, the column and both types."""

import re
from datetime import date

import dagster as dg
import pyarrow as pa
import pytest

from customer_analytics.defs.search.assets import raw_log_search
from customer_analytics.defs.search.landing import read_search_day
from customer_analytics.defs.search.schemas import LOG_SEARCH_FILE

DAY = date(2022, 6, 1)
ROWS = [
    {"eventID": f"e{n}", "user_id": f"{n:07d}", "keyword": f"phim {n}", "userPlansMap": ["a"]}
    for n in range(1, 21)
]
DEFAULTS = {
    "datetime": "2022-06-01 20:15:00.000",
    "category": "enter",
    "proxy_isp": "vnpt",
    "platform": "smarttv-sony",
    "networkType": "wifi",
    "action": "search",
}


def _write_part(project, column: str, arrow_type: pa.DataType, values=None) -> str:
    """The fixture's rows with `column` stored as `arrow_type` (from `values` if given)."""
    table = pa.Table.from_pylist([{**DEFAULTS, **row} for row in ROWS], schema=LOG_SEARCH_FILE)
    index = table.schema.get_field_index(column)
    data = table[column] if values is None else pa.array(values)
    table = table.set_column(index, pa.field(column, arrow_type), data.cast(arrow_type))
    relative = f"log_search/{DAY:%Y%m%d}/part-00000.parquet"
    project.raw.write_parquet(relative, table)
    return project.raw.describe(relative)


def _read(project) -> pa.Table:
    return read_search_day(project.resources()["landing"], DAY, tuple(LOG_SEARCH_FILE.names))


@pytest.mark.parametrize(
    ("column", "arrow_type"),
    [
        ("keyword", pa.dictionary(pa.int32(), pa.string())),
        ("keyword", pa.large_string()),
        ("keyword", pa.binary()),
        ("user_id", pa.large_binary()),
        ("eventID", pa.dictionary(pa.int8(), pa.large_string())),
        ("userPlansMap", pa.large_list(pa.large_string())),
        ("userPlansMap", pa.list_(pa.dictionary(pa.int32(), pa.string()))),
    ],
)
def test_other_encodings_of_text_are_read_as_text(project, column, arrow_type):
    _write_part(project, column, arrow_type)

    events = _read(project)

    assert events.schema.field(column).type == LOG_SEARCH_FILE.field(column).type
    assert events.drop_columns(["row_number"]).to_pylist() == [{**DEFAULTS, **row} for row in ROWS]


def test_a_column_without_any_value_is_read_as_text(project):
    _write_part(project, "category", pa.null(), [None] * len(ROWS))

    events = _read(project)

    assert events.schema.field("category").type == pa.string()
    assert events["category"].null_count == len(ROWS)


def test_bytes_that_are_not_utf8_fail_the_day_naming_the_file_and_column(project):
    keywords = [row["keyword"].encode() for row in ROWS]
    keywords[3] = b"phim \xff\xfe"
    uri = _write_part(project, "keyword", pa.binary(), keywords)

    with pytest.raises(dg.Failure) as failure:
        _read(project)

    message = str(failure.value)
    assert message.startswith(f"{uri}: column keyword is binary, expected string")
    assert "not UTF-8" in message
    assert failure.value.allow_retries is False


@pytest.mark.parametrize("arrow_type", [pa.int64(), pa.float64()])
def test_user_ids_as_numbers_fail_the_day_and_are_not_cast(project, arrow_type):
    uri = _write_part(project, "user_id", arrow_type, [int(row["user_id"]) for row in ROWS])

    with pytest.raises(dg.Failure) as failure:
        _read(project)

    assert str(failure.value).startswith(
        f"{uri}: column user_id is {arrow_type}, expected string (the ids are text whose "
        "leading zeros matter"
    )
    assert failure.value.allow_retries is False


def test_another_type_fails_naming_both_types(project):
    uri = _write_part(project, "userPlansMap", pa.string(), ["a"] * len(ROWS))

    with pytest.raises(dg.Failure, match=re.escape(f"{uri}: column userPlansMap is string, ")):
        _read(project)


def test_a_day_with_numeric_user_ids_fails_its_run_once_naming_the_file(project, instance):
    uri = _write_part(project, "user_id", pa.int64(), [int(row["user_id"]) for row in ROWS])

    result = dg.materialize(
        [raw_log_search],
        resources=project.resources(),
        instance=instance,
        partition_key=str(DAY),
        raise_on_error=False,
    )

    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert f"{uri}: column user_id is int64, expected string" in str(failure.step_failure_data)
    assert not [event for event in result.all_events if event.is_step_up_for_retry]
    assert not project.lake.exists("raw_log_search/2022-06-01.parquet")
