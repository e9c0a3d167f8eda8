"""The viewing-log rules on both engines (docs/contract.md §3).

Covers `split_lines` (DuckDB's own line splitting), `parse_content_days` (every quarantine reason,
its line number and the order of reasons), `daily_pivot` and `customer_content_stats` (Active,
MostWatch ties, Taste, months). Every test of the transforms runs on DuckDB and on Spark. A test
of a whole file takes the `engine` fixture and parses its own day file; the parametrized tables
of one line each register their day files at import, and each engine parses them all at once,
each file a day of its own (`cases`: one Spark plan for the module instead of one per case).
Every fixture line is a literal JSON string and every expected value is worked out by hand.
"""

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_analytics.defs.content.schemas import RAW_LOG_CONTENT
from customer_analytics.defs.content.transforms import (
    customer_content_stats,
    daily_pivot,
    parse_content_days,
)
from customer_analytics.engines.base import Engine
from customer_analytics.engines.duckdb import split_lines
from customer_analytics.engines.storage import Location
from customer_analytics.rules.tables import DAILY_PIVOT
from customer_analytics_tests.conftest import PIVOT_COLUMNS, PROFILE_COLUMNS
from customer_analytics_tests.engines.run import (
    PARTS,
    QUARANTINE_ONLY,
    ContentCases,
    Parsed,
    ParsedCases,
    content_day,
    lake_files,
    parse_content,
)

# createDataFrame checks the installed pandas even when given Arrow tables.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

DAY = date(2022, 4, 1)

# A line that passes every rule: Truyen Hinh, 254 seconds.
GOOD = '{"_index": "history", "_id": "g1", "_score": 0, "_source": {"Contract": "HNH579912", "Mac": "0C96E62FC55C", "TotalDuration": 254, "AppName": "KPLUS"}}'


def _line(source: str, _id: str = "x1") -> str:
    """A log line with the given literal `_source` members."""
    return '{"_index": "history", "_id": "' + _id + '", "_source": {' + source + "}}"


def _parse(
    engine: Engine,
    text: str | bytes,
    tmp_path: Path,
    day: date = DAY,
    parts: Sequence[str] = PARTS,
) -> Parsed:
    """The day file of `text` (str as UTF-8, bytes as they are), parsed once by the engine."""
    return parse_content(engine, text, tmp_path, day, parts)


def _reasons(parsed: Parsed) -> list[tuple[int, str]]:
    return [(row["line_number"], row["reason"]) for row in parsed.quarantine.to_pylist()]


def _valid(parsed: Parsed) -> list[tuple]:
    """(Contract, AppName, category, TotalDuration, _id) of each valid record, in line order."""
    columns = ["Contract", "AppName", "category", "TotalDuration", "_id"]
    return [tuple(row[c] for c in columns) for row in parsed.valid.to_pylist()]


def _raw(*rows: tuple) -> pa.Table:
    """raw_log_content rows from (date, Contract, AppName, category, TotalDuration, _id)."""
    names = ["date", "Contract", "AppName", "category", "TotalDuration", "_id"]
    records = [{**dict(zip(names, row, strict=True)), "Mac": "0C96E62FC55C"} for row in rows]
    return pa.Table.from_pylist(records, schema=RAW_LOG_CONTENT)


def _pivot(*rows: tuple) -> pa.Table:
    """daily_pivot rows from (date, Contract, Giai Tri, Phim Truyen, The Thao, Thieu Nhi, Truyen Hinh)."""
    records = [dict(zip(PIVOT_COLUMNS, row, strict=True)) for row in rows]
    return pa.Table.from_pylist(records, schema=DAILY_PIVOT)


def _rows(table: pa.Table) -> list[tuple]:
    return [tuple(row.values()) for row in table.to_pylist()]


# The cases of the parametrized tests below: their day files are registered here as each table
# is defined, and parsed by each engine all at once (`cases`).
CASES = ContentCases()


_registered = CASES.registered


@pytest.fixture(scope="module")
def cases(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> ParsedCases:
    return CASES.parse(module_engine, tmp_path_factory.mktemp("cases"))


def _one_line(line: str) -> str:
    return line + "\n"


def _after_good(line: str) -> str:
    """GOOD, then `line`: line 2 of its file."""
    return GOOD + "\n" + line + "\n"


def _app_line(app: str) -> str:
    return _line(f'"Contract": "C1", "TotalDuration": 10, "AppName": "{app}"')


def _json_app_line(json_app: str) -> str:
    return _line(f'"Contract": "C1", "TotalDuration": 10, "AppName": {json_app}')


def _vod_line(json_contract: str) -> str:
    return _line(f'"Contract": {json_contract}, "TotalDuration": 10, "AppName": "VOD"')


def _sport_line(duration: str) -> str:
    return _line(f'"Contract": "C1", "TotalDuration": {duration}, "AppName": "SPORT"')


def _duplicate_of_good(source: str) -> str:
    """GOOD, then a record of `source` with GOOD's _id."""
    return _after_good(_line(source, _id="g1"))


# --- split_lines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"", [], id="empty-file"),
        pytest.param(b"a\nb", [(1, "a"), (2, "b")], id="no-final-newline"),
        pytest.param(b"a\nb\n", [(1, "a"), (2, "b")], id="final-newline-adds-no-line"),
        pytest.param(b"a\r\nb\r\n", [(1, "a"), (2, "b")], id="crlf"),
        pytest.param(b"a\r\nb", [(1, "a"), (2, "b")], id="crlf-no-final-newline"),
        pytest.param(b"a\n\nb\n", [(1, "a"), (2, ""), (3, "b")], id="blank-in-middle"),
        pytest.param(b"a\r\n\r\nb\r\n", [(1, "a"), (2, ""), (3, "b")], id="crlf-blank-in-middle"),
        pytest.param(b"a\n\n", [(1, "a"), (2, "")], id="blank-last-line"),
        pytest.param(b" a \n", [(1, " a ")], id="spaces-kept"),
        pytest.param(b"\xef\xbb\xbfa\nb\n", [(1, "a"), (2, "b")], id="bom-dropped"),
        pytest.param(b"\xef\xbb\xbfa\r\nb", [(1, "a"), (2, "b")], id="bom-crlf-no-final-newline"),
        pytest.param(b"\xef\xbb\xbf", [], id="bom-only-is-an-empty-file"),
        pytest.param(b"\xef\xbb\xbf\n", [(1, "")], id="bom-then-one-blank-line"),
        pytest.param(b"\xef\xbb\xbf\xef\xbb\xbfa\n", [(1, "\ufeffa")], id="second-bom-kept"),
        pytest.param(b"a\n\xef\xbb\xbfb\n", [(1, "a"), (2, "\ufeffb")], id="bom-inside-kept"),
    ],
)
def test_split_lines_numbers_physical_lines(data, expected):
    table = split_lines(data)
    assert table.column_names == ["line_number", "raw_line"]
    assert table.schema.field("line_number").type == pa.int64()
    assert list(zip(*table.to_pydict().values(), strict=True)) == expected


@pytest.mark.parametrize("data", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_split_lines_file_of_one_blank_line(data):
    """A file holding one blank line has one physical line, just as b"a\\n\\n" has two.

    `b"\\r\\n"` and `b"\\n"` must agree, since CRLF endings are only stripped.
    """
    assert split_lines(data).to_pylist() == [{"line_number": 1, "raw_line": ""}]


def test_undecodable_bytes_fail_only_their_own_line(engine, tmp_path):
    data = b"\xff\xfe\n" + GOOD.encode() + b"\n"
    parsed = _parse(engine, data, tmp_path)
    assert _reasons(parsed) == [(1, "malformed_json")]
    assert _valid(parsed) == [("HNH579912", "KPLUS", "Truyen Hinh", 254, "g1")]


def test_byte_order_mark_of_the_file_keeps_line_one_valid(engine, tmp_path):
    second = '{"_id": "g2", "_source": {"Contract": "HNH2", "TotalDuration": 5, "AppName": "VOD"}}'
    data = b"\xef\xbb\xbf" + GOOD.encode() + b"\r\n" + second.encode() + b"\r\n"
    parsed = _parse(engine, data, tmp_path)
    assert _reasons(parsed) == []
    assert _valid(parsed) == [
        ("HNH579912", "KPLUS", "Truyen Hinh", 254, "g1"),
        ("HNH2", "VOD", "Phim Truyen", 5, "g2"),
    ]


def test_byte_order_mark_with_undecodable_bytes_later(engine, tmp_path):
    """The replacement of bad bytes re-reads the file: its byte-order mark is dropped again."""
    data = b"\xef\xbb\xbf" + GOOD.encode() + b"\n\xff\n"
    parsed = _parse(engine, data, tmp_path)
    assert parsed.quarantine.to_pylist() == [
        {"date": DAY, "line_number": 2, "reason": "malformed_json", "raw_line": "\ufffd"}
    ]
    assert _valid(parsed) == [("HNH579912", "KPLUS", "Truyen Hinh", 254, "g1")]


def test_byte_order_mark_inside_the_file_is_a_malformed_line(engine, tmp_path):
    data = GOOD.encode() + b"\n\xef\xbb\xbf" + GOOD.replace("g1", "g2").encode() + b"\n"
    parsed = _parse(engine, data, tmp_path, parts=QUARANTINE_ONLY)
    assert _reasons(parsed) == [(2, "malformed_json")]


# --- parse_content_days: valid records ------------------------------------------------------------


def test_valid_record_keeps_every_field(engine, tmp_path):
    parsed = _parse(engine, GOOD + "\n", tmp_path, date(2022, 4, 7))
    assert parsed.valid.column_names == [
        "date",
        "Contract",
        "Mac",
        "AppName",
        "category",
        "TotalDuration",
        "_id",
    ]
    assert parsed.valid.to_pylist() == [
        {
            "date": date(2022, 4, 7),
            "Contract": "HNH579912",
            "Mac": "0C96E62FC55C",
            "AppName": "KPLUS",
            "category": "Truyen Hinh",
            "TotalDuration": 254,
            "_id": "g1",
        }
    ]
    assert parsed.quarantine.num_rows == 0
    assert parsed.quarantine.column_names == ["date", "line_number", "reason", "raw_line"]


@pytest.mark.parametrize(
    ("app", "category"),
    _registered(_app_line, [
        ("CHANNEL", "Truyen Hinh"),
        ("DSHD", "Truyen Hinh"),
        ("KPLUS", "Truyen Hinh"),
        ("kplus", "Truyen Hinh"),
        (" KPlus ", "Truyen Hinh"),
        ("VOD", "Phim Truyen"),
        ("FIMS_RES", "Phim Truyen"),
        ("BHD_RES", "Phim Truyen"),
        ("VOD_RES", "Phim Truyen"),
        ("FIMS", "Phim Truyen"),
        ("BHD", "Phim Truyen"),
        ("DANET", "Phim Truyen"),
        ("danet", "Phim Truyen"),
        ("RELAX", "Giai Tri"),
        ("  relax", "Giai Tri"),
        ("CHILD", "Thieu Nhi"),
        ("Child ", "Thieu Nhi"),
        ("SPORT", "The Thao"),
        ("sport", "The Thao"),
    ]),
)  # fmt: skip
def test_app_name_maps_to_category_and_is_kept_as_logged(cases, app, category):
    parsed = cases[_app_line(app)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [("C1", app, category, 10, "x1")]


@pytest.mark.parametrize(
    ("json_app", "app", "category"),
    _registered(_json_app_line, [
        pytest.param('" KPLUS\\t"', " KPLUS\t", "Truyen Hinh", id="space-tab"),
        pytest.param('"\\nvod\\r\\n"', "\nvod\r\n", "Phim Truyen", id="newlines"),
        pytest.param('"\u00a0Child\u3000"', "\u00a0Child\u3000", "Thieu Nhi", id="nbsp-ideographic"),
        pytest.param('"\\u2003SPORT\\u0085"', "\u2003SPORT\u0085", "The Thao", id="escaped-em-space-nel"),
    ]),
)  # fmt: skip
def test_app_name_is_matched_without_unicode_white_space(cases, json_app, app, category):
    parsed = cases[_json_app_line(json_app)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [("C1", app, category, 10, "x1")]


@pytest.mark.parametrize(
    ("contract", "expected"),
    _registered(_vod_line, [
        ('"HNH579912"', "HNH579912"),
        ('" HNH579912 "', "HNH579912"),
        ('"   SGH000001"', "SGH000001"),
        ("12345", "12345"),
        ('"NULLX"', "NULLX"),
        ('"00"', "00"),
        ('"\\tHNH2\\t"', "HNH2"),
        ('"\\r\\nHNH2\\n"', "HNH2"),
        ('"\u00a0HNH2\u3000"', "HNH2"),
        ('"\\u2009\\u000bHNH2\\u000c\\u202f"', "HNH2"),
        ('"HNH 2"', "HNH 2"),
        ('"HNH\\t2"', "HNH\t2"),
    ]),
)  # fmt: skip
def test_contract_is_trimmed(cases, contract, expected):
    parsed = cases[_vod_line(contract)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [(expected, "VOD", "Phim Truyen", 10, "x1")]


def test_contracts_differing_only_in_white_space_are_one_contract(engine, tmp_path):
    lines = [
        '{"_id": "t1", "_source": {"Contract": "\\tHNH2\\t", "TotalDuration": 10, "AppName": "VOD"}}',
        '{"_id": "t2", "_source": {"Contract": "HNH2", "TotalDuration": 20, "AppName": "VOD"}}',
        '{"_id": "t3", "_source": {"Contract": "\u3000HNH2\u00a0", "TotalDuration": 5, "AppName": "KPLUS"}}',
    ]
    with content_day(engine, "\n".join(lines) + "\n", tmp_path, date(2022, 4, 3)) as parsed:
        valid = engine.fetch(parsed.valid)
        pivot = engine.fetch(daily_pivot(parsed.valid))
    assert valid.column("Contract").to_pylist() == ["HNH2", "HNH2", "HNH2"]
    assert _rows(pivot) == [(date(2022, 4, 3), "HNH2", 0, 30, 0, 0, 5)]


# 255 characters: the longest valid Contract (MAX_CONTRACT_LENGTH).
CONTRACT_255 = "HNH" + "0123456789" * 25 + "01"
# 255 characters of two bytes each in UTF-8: 510 bytes, still 255 characters.
CONTRACT_255_TWO_BYTE = "\u0110" * 255


def test_fixture_lengths_are_what_they_claim():
    assert len(CONTRACT_255) == 255
    assert len(CONTRACT_255_TWO_BYTE) == 255
    assert len(CONTRACT_255_TWO_BYTE.encode()) == 510


@pytest.mark.parametrize(
    ("json_contract", "expected"),
    _registered(_vod_line, [
        pytest.param(f'"{CONTRACT_255}"', CONTRACT_255, id="255"),
        pytest.param(f'"{CONTRACT_255_TWO_BYTE}"', CONTRACT_255_TWO_BYTE, id="255-two-byte"),
        pytest.param(f'"  {CONTRACT_255}\\t"', CONTRACT_255, id="255-after-trimming"),
    ]),
)  # fmt: skip
def test_contract_of_255_characters_is_valid(cases, json_contract, expected):
    parsed = cases[_vod_line(json_contract)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [(expected, "VOD", "Phim Truyen", 10, "x1")]


@pytest.mark.parametrize(
    "contract",
    _registered(lambda contract: _after_good(_vod_line(f'"{contract}"')), [
        pytest.param(CONTRACT_255 + "X", id="256"),
        pytest.param(CONTRACT_255_TWO_BYTE + "\u0110", id="256-two-byte"),
        pytest.param("HNH" + "7" * 297, id="300"),
    ]),
)  # fmt: skip
def test_contract_longer_than_255_characters_is_quarantined(cases, contract):
    line = _vod_line(f'"{contract}"')
    parsed = cases[_after_good(line)]
    day = cases.day(_after_good(line))
    assert parsed.quarantine.to_pylist() == [
        {"date": day, "line_number": 2, "reason": "contract_too_long", "raw_line": line}
    ]
    assert _valid(parsed) == [("HNH579912", "KPLUS", "Truyen Hinh", 254, "g1")]


@pytest.mark.parametrize(
    ("duration", "expected"),
    _registered(_sport_line, [
        ("254", 254),
        ('"254"', 254),
        ('" 254 "', 254),
        ("0", 0),
        ('"0"', 0),
        ('"007"', 7),
        ("9223372036854775807", 9223372036854775807),
        ('"\\t254\\n"', 254),
        ('"\u00a0254\u3000"', 254),
    ]),
)  # fmt: skip
def test_accepted_durations(cases, duration, expected):
    parsed = cases[_sport_line(duration)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [("C1", "SPORT", "The Thao", expected, "x1")]


# --- parse_content_days: one reason per line ------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    _registered(_after_good, [
        # malformed_json
        pytest.param("", "malformed_json", id="json-empty"),
        pytest.param("   ", "malformed_json", id="json-spaces"),
        pytest.param("not json", "malformed_json", id="json-text"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1"', "malformed_json", id="json-truncated"),
        pytest.param("{'_id': 'x1'}", "malformed_json", id="json-single-quotes"),
        pytest.param('{"_id": "x1"} {"_id": "x2"}', "malformed_json", id="json-two-objects"),
        pytest.param("[1,2]", "malformed_json", id="json-array"),
        pytest.param('"x"', "malformed_json", id="json-string"),
        pytest.param("5", "malformed_json", id="json-number"),
        pytest.param("null", "malformed_json", id="json-null"),
        pytest.param("true", "malformed_json", id="json-bool"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10, "AppName": "VOD"') + " 5", "malformed_json", id="json-object-then-number"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10, "AppName": "VOD"') + "}", "malformed_json", id="json-extra-closing-brace"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10, "AppName": "VOD"') + ',{"_id": "x2"}', "malformed_json", id="json-object-comma-object"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10, "AppName": "VOD"') + "]", "malformed_json", id="json-extra-closing-bracket"),
        pytest.param('{"_id": "x1", "n": "{"} "}', "malformed_json", id="json-object-then-quoted-brace"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 010, "AppName": "VOD"'), "malformed_json", id="json-leading-zero"),
        # A key that is read, repeated in the hit or in its _source: parsers differ on which
        # value counts.
        pytest.param('{"_id": "x1", "_id": "x9", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD"}}', "malformed_json", id="json-repeated-id"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD", "Contract": "C2"}}', "malformed_json", id="json-repeated-contract"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD"}, "_source": {"Contract": "C3"}}', "malformed_json", id="json-repeated-source"),
        # missing_source
        pytest.param('{"_id": "x1"}', "missing_source", id="source-absent"),
        pytest.param("{}", "missing_source", id="source-empty-object"),
        pytest.param('{"_id": "x1", "_source": null}', "missing_source", id="source-null"),
        pytest.param('{"_id": "x1", "_source": "C1"}', "missing_source", id="source-string"),
        pytest.param('{"_id": "x1", "_source": 5}', "missing_source", id="source-number"),
        pytest.param('{"_id": "x1", "_source": [{"Contract": "C1"}]}', "missing_source", id="source-array"),
        pytest.param('{"_id": "x1", "Contract": "C1", "TotalDuration": 5, "AppName": "VOD"}', "missing_source", id="source-fields-at-top"),
        # invalid_contract
        pytest.param(_line('"Contract": null, "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-null"),
        pytest.param(_line('"TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-missing"),
        pytest.param(_line('"Contract": "", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-empty"),
        pytest.param(_line('"Contract": "  ", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-spaces"),
        pytest.param(_line('"Contract": "0", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-zero"),
        pytest.param(_line('"Contract": " 0 ", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-zero-spaces"),
        pytest.param(_line('"Contract": 0, "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-zero-number"),
        pytest.param(_line('"Contract": "NULL", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-NULL"),
        pytest.param(_line('"Contract": "null", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-null-text"),
        pytest.param(_line('"Contract": " Null ", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-Null-spaces"),
        pytest.param('{"_id": "x1", "_source": {}}', "invalid_contract", id="contract-empty-source"),
        pytest.param(_line('"Contract": "\\t", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-tab"),
        pytest.param(_line('"Contract": "\u3000", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-ideographic-space"),
        pytest.param(_line('"Contract": "\\u3000", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-escaped-ideographic-space"),
        pytest.param(_line('"Contract": " \\t\\n\\r\u00a0", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-white-space-mix"),
        pytest.param(_line('"Contract": "\\t0\u00a0", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-zero-tabs"),
        pytest.param(_line('"Contract": "\u2003null\\n", "TotalDuration": 10, "AppName": "VOD"'), "invalid_contract", id="contract-null-em-space"),
        # contract_too_long
        pytest.param(_line('"Contract": "' + "C" * 256 + '", "TotalDuration": 10, "AppName": "VOD"'), "contract_too_long", id="contract-256"),
        pytest.param(_line('"Contract": "' + "C" * 300 + '", "TotalDuration": 10, "AppName": "VOD"'), "contract_too_long", id="contract-300"),
        pytest.param(_line('"Contract": "' + "\u0110" * 256 + '", "TotalDuration": 10, "AppName": "VOD"'), "contract_too_long", id="contract-256-two-byte"),
        # invalid_duration
        pytest.param(_line('"Contract": "C1", "TotalDuration": -5, "AppName": "VOD"'), "invalid_duration", id="duration-negative"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 12.5, "AppName": "VOD"'), "invalid_duration", id="duration-float"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 254.0, "AppName": "VOD"'), "invalid_duration", id="duration-integral-float"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 2e2, "AppName": "VOD"'), "invalid_duration", id="duration-exponent"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": "abc", "AppName": "VOD"'), "invalid_duration", id="duration-text"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": "", "AppName": "VOD"'), "invalid_duration", id="duration-empty-string"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": "  ", "AppName": "VOD"'), "invalid_duration", id="duration-spaces"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": "-5", "AppName": "VOD"'), "invalid_duration", id="duration-negative-string"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": "12.5", "AppName": "VOD"'), "invalid_duration", id="duration-float-string"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": "2 54", "AppName": "VOD"'), "invalid_duration", id="duration-inner-space"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": null, "AppName": "VOD"'), "invalid_duration", id="duration-null"),
        pytest.param(_line('"Contract": "C1", "AppName": "VOD"'), "invalid_duration", id="duration-missing"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": true, "AppName": "VOD"'), "invalid_duration", id="duration-bool"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": [254], "AppName": "VOD"'), "invalid_duration", id="duration-array"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 9223372036854775808, "AppName": "VOD"'), "invalid_duration", id="duration-above-bigint"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 18446744073709551616, "AppName": "VOD"'), "invalid_duration", id="duration-above-ubigint"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": "9223372036854775808", "AppName": "VOD"'), "invalid_duration", id="duration-string-above-bigint"),
        # unknown_app
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10, "AppName": "YOUTUBE"'), "unknown_app", id="app-unknown"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10, "AppName": null'), "unknown_app", id="app-null"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10'), "unknown_app", id="app-missing"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10, "AppName": ""'), "unknown_app", id="app-empty"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10, "AppName": "K PLUS"'), "unknown_app", id="app-inner-space"),
        pytest.param(_line('"Contract": "C1", "TotalDuration": 10, "AppName": "Truyen Hinh"'), "unknown_app", id="app-category-name"),
    ]),
)  # fmt: skip
def test_each_reason(cases, line, reason):
    parsed = cases[_after_good(line)]
    day = cases.day(_after_good(line))
    assert parsed.quarantine.to_pylist() == [
        {"date": day, "line_number": 2, "reason": reason, "raw_line": line}
    ]
    assert _valid(parsed) == [("HNH579912", "KPLUS", "Truyen Hinh", 254, "g1")]


@pytest.mark.parametrize(
    "line",
    _registered(_one_line, [
        '{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD"},}',
        '{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD",}}',
        '{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD", "x": NaN}}',
        '{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": -Infinity, "AppName": "VOD"}}',
    ]),
    ids=["outer-comma", "inner-comma", "nan", "infinity"],
)  # fmt: skip
def test_lenient_json_is_not_json(cases, line):
    """Trailing commas, NaN and Infinity are not JSON (RFC 8259), though DuckDB's parser takes them."""
    parsed = cases[_one_line(line)]
    assert _reasons(parsed) == [(1, "malformed_json")]
    assert _valid(parsed) == []


@pytest.mark.parametrize(
    "line",
    _registered(_one_line, [
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD", "x": [1, 2, ]}}', id="array-comma"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD" , }}', id="spaced-comma"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1\\\\", "TotalDuration": 10, "AppName": "VOD",}}', id="comma-after-escaped-backslash"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1\\"", "TotalDuration": 10, "AppName": "VOD", "x": nan}}', id="nan-after-escaped-quote"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": inf, "AppName": "VOD"}}', id="inf"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": -inf, "AppName": "VOD"}}', id="minus-inf"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": INFINITY, "AppName": "VOD"}}', id="infinity-upper"),
        pytest.param('{"_id": "x1", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD", "x": -nan}}', id="minus-nan"),
    ]),
)  # fmt: skip
def test_other_lenient_json_is_not_json(cases, line):
    """DuckDB also takes these; JSON does not."""
    parsed = cases[_one_line(line)]
    assert _reasons(parsed) == [(1, "malformed_json")]


@pytest.mark.parametrize(
    ("line", "expected"),
    _registered(_one_line, [
        pytest.param('{"_id":"a","_source":{"Contract":"HNH, }","TotalDuration":1,"AppName":"KPLUS"}}', ("HNH, }", "KPLUS", "Truyen Hinh", 1, "a"), id="comma-brace-in-string"),
        pytest.param('{"_id":"b","_source":{"Contract":"NaN]","TotalDuration":1,"AppName":"KPLUS"}}', ("NaN]", "KPLUS", "Truyen Hinh", 1, "b"), id="nan-in-string"),
        pytest.param('{"_id":"c","_source":{"Contract":"x,]","Mac":"Infinity","TotalDuration":1,"AppName":"VOD"}}', ("x,]", "VOD", "Phim Truyen", 1, "c"), id="comma-bracket-infinity-in-strings"),
        pytest.param('{"_id":"d","_source":{"Contract":"q\\", }","TotalDuration":2,"AppName":"VOD"}}', ('q", }', "VOD", "Phim Truyen", 2, "d"), id="escaped-quote-then-comma-brace"),
        pytest.param('{"_id":"e","_source":{"Contract":"\\\\","TotalDuration":3,"AppName":"VOD"}}', ("\\", "VOD", "Phim Truyen", 3, "e"), id="escaped-backslash"),
        pytest.param('{"_id":"f","_source":{"Contract":"inf","TotalDuration":4,"AppName":"VOD"},"nan":", ]"}', ("inf", "VOD", "Phim Truyen", 4, "f"), id="inf-and-nan-as-key-and-value"),
        pytest.param('{"_id":"g","_source":{"Contract":"C1","TotalDuration":5,"AppName":"VOD","x":[true,false,null]}}', ("C1", "VOD", "Phim Truyen", 5, "g"), id="literals"),
        # A key that is not read may repeat, in _source or deeper down.
        pytest.param('{"_id":"h","_source":{"Contract":"C1","TotalDuration":6,"AppName":"VOD","x":{"k":[1],"k":{"z":[2]}}}}', ("C1", "VOD", "Phim Truyen", 6, "h"), id="repeated-key-deeper"),
        pytest.param('{"_id":"i","_source":{"Contract":"C1","TotalDuration":7,"AppName":"VOD","x":"{[}"}}', ("C1", "VOD", "Phim Truyen", 7, "i"), id="brackets-in-string"),
        pytest.param('{"_id":"j","_index":"a","_index":"b","_source":{"Contract":"C1","TotalDuration":8,"AppName":"VOD","y":1,"y":2}}', ("C1", "VOD", "Phim Truyen", 8, "j"), id="repeated-keys-not-read"),
        pytest.param('{"_id":"k","_source":{"Contract":"C1","TotalDuration":9,"AppName":"VOD","Note":"\\"Contract\\": 1"}}', ("C1", "VOD", "Phim Truyen", 9, "k"), id="read-key-named-again-in-a-string"),
        pytest.param('{"_id":"l","_source":{"Contract":"Mac","Mac":"AppName","TotalDuration":10,"AppName":"VOD"}}', ("Mac", "VOD", "Phim Truyen", 10, "l"), id="read-keys-as-values"),
    ]),
)  # fmt: skip
def test_json_look_alikes_inside_strings_are_valid(cases, line, expected):
    """A trailing comma or a NaN/Infinity inside a string is text, not a token."""
    parsed = cases[_one_line(line)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [expected]


@pytest.mark.parametrize(
    ("source", "reason"),
    _registered(_duplicate_of_good, [
        pytest.param('"Contract": "0", "TotalDuration": -1, "AppName": "YOUTUBE"', "invalid_contract", id="contract-duration-app"),
        pytest.param('"Contract": " null ", "TotalDuration": 10, "AppName": "YOUTUBE"', "invalid_contract", id="contract-app"),
        pytest.param('"Contract": null, "TotalDuration": "abc", "AppName": "VOD"', "invalid_contract", id="contract-duration"),
        pytest.param('"Contract": "C1", "TotalDuration": "abc", "AppName": null', "invalid_duration", id="duration-app"),
        pytest.param('"Contract": "C1", "TotalDuration": 1.5, "AppName": "YOUTUBE"', "invalid_duration", id="float-duration-app"),
        pytest.param('"Contract": "' + "C" * 256 + '", "TotalDuration": -1, "AppName": "YOUTUBE"', "contract_too_long", id="long-contract-duration-app"),
        pytest.param('"Contract": "' + "C" * 300 + '", "TotalDuration": 10, "AppName": "VOD"', "contract_too_long", id="long-contract-duplicate"),
    ]),
)  # fmt: skip
def test_first_failing_reason_is_reported(cases, source, reason):
    # The same _id as GOOD, so every line below is also a duplicate: that reason comes last.
    assert _reasons(cases[_duplicate_of_good(source)]) == [(2, reason)]


def test_missing_source_wins_over_everything_after_it(engine, tmp_path):
    text = GOOD + "\n" + '{"_id": "g1", "Contract": "0", "TotalDuration": -1, "AppName": "X"}\n'
    assert _reasons(_parse(engine, text, tmp_path, parts=QUARANTINE_ONLY)) == [
        (2, "missing_source")
    ]


# --- parse_content_days: whole day files ----------------------------------------------------------


def test_mixed_day_with_crlf_and_blank_line(engine, tmp_path):
    lines = [
        '{"_id": "a1", "_source": {"Contract": "C1", "Mac": "M1", "TotalDuration": 100, "AppName": "KPLUS"}}',
        "",
        '{"_id": "a2", "_source": {"Contract": " C2 ", "Mac": "M2", "TotalDuration": "50", "AppName": "vod"}}',
        "[1,2]",
        '{"_id": "a3"}',
        '{"_id": "a4", "_source": {"Contract": "NULL", "Mac": "M4", "TotalDuration": 5, "AppName": "VOD"}}',
        '{"_id": "a5", "_source": {"Contract": "C5", "Mac": "M5", "TotalDuration": -3, "AppName": "VOD"}}',
        '{"_id": "a6", "_source": {"Contract": "C6", "Mac": "M6", "TotalDuration": 3, "AppName": "YOUTUBE"}}',
        '{"_id": "a1", "_source": {"Contract": "C1", "Mac": "M1", "TotalDuration": 7, "AppName": "SPORT"}}',
        '{"_id": "a9", "_source": {"Contract": "C1", "Mac": "M1", "TotalDuration": 0, "AppName": "CHILD"}}',
    ]
    parsed = _parse(engine, "\r\n".join(lines) + "\r\n", tmp_path, date(2022, 4, 30))
    assert parsed.quarantine.to_pylist() == [
        {"date": date(2022, 4, 30), "line_number": 2, "reason": "malformed_json", "raw_line": ""},
        {"date": date(2022, 4, 30), "line_number": 4, "reason": "malformed_json", "raw_line": "[1,2]"},
        {"date": date(2022, 4, 30), "line_number": 5, "reason": "missing_source", "raw_line": lines[4]},
        {"date": date(2022, 4, 30), "line_number": 6, "reason": "invalid_contract", "raw_line": lines[5]},
        {"date": date(2022, 4, 30), "line_number": 7, "reason": "invalid_duration", "raw_line": lines[6]},
        {"date": date(2022, 4, 30), "line_number": 8, "reason": "unknown_app", "raw_line": lines[7]},
        {"date": date(2022, 4, 30), "line_number": 9, "reason": "duplicate_id", "raw_line": lines[8]},
    ]  # fmt: skip
    assert _valid(parsed) == [
        ("C1", "KPLUS", "Truyen Hinh", 100, "a1"),
        ("C2", "vod", "Phim Truyen", 50, "a2"),
        ("C1", "CHILD", "Thieu Nhi", 0, "a9"),
    ]
    assert parsed.valid.column("date").to_pylist() == [date(2022, 4, 30)] * 3
    # Every physical line is accounted for exactly once.
    assert parsed.valid.num_rows + parsed.quarantine.num_rows == 10


def test_a_range_of_days_is_parsed_at_once_and_written_per_day(engine, tmp_path):
    """Three day files in one parse: each line numbered in its own file, a repeated _id only
    within its day, and each day's rows written to its own file in line order (a day without
    valid rows gets an empty file)."""

    def kplus(contract: str, seconds: int, _id: str) -> str:
        members = f'"Contract": "{contract}", "Mac": "0C96E62FC55C", "TotalDuration": {seconds}'
        return _line(members + ', "AppName": "KPLUS"', _id)

    day_1 = [kplus("C1", 10, "i1"), "bad", kplus("C2", 20, "i1")]
    day_2 = [kplus("C3", 30, "i1"), "", kplus("C4", 40, "i2")]
    (tmp_path / "day1.json").write_text("\n".join(day_1) + "\n")
    (tmp_path / "day2.json").write_text("\r\n".join(day_2))  # no final line ending
    (tmp_path / "day3.json").write_text("\ufeffbad\n")
    days = {
        date(2022, 4, 1): "day1.json",
        date(2022, 4, 2): "day2.json",
        date(2022, 4, 3): "day3.json",
    }
    location = Location(str(tmp_path))
    keys = ("2022-04-01", "2022-04-02", "2022-04-03")
    with parse_content_days(engine, location, days) as parsed:
        engine.write(parsed.valid, location, {k: f"valid/{k}.parquet" for k in keys}, "date")
        engine.write(
            parsed.quarantine, location, {k: f"quarantine/{k}.parquet" for k in keys}, "date"
        )
    valid = {k: _rows(pq.read_table(tmp_path / f"valid/{k}.parquet")) for k in keys}
    quarantine = {k: _rows(pq.read_table(tmp_path / f"quarantine/{k}.parquet")) for k in keys}
    assert valid == {
        "2022-04-01": [(date(2022, 4, 1), "C1", "0C96E62FC55C", "KPLUS", "Truyen Hinh", 10, "i1")],
        "2022-04-02": [
            (date(2022, 4, 2), "C3", "0C96E62FC55C", "KPLUS", "Truyen Hinh", 30, "i1"),
            (date(2022, 4, 2), "C4", "0C96E62FC55C", "KPLUS", "Truyen Hinh", 40, "i2"),
        ],
        "2022-04-03": [],
    }
    assert quarantine == {
        "2022-04-01": [
            (date(2022, 4, 1), 2, "malformed_json", "bad"),
            (date(2022, 4, 1), 3, "duplicate_id", day_1[2]),
        ],
        "2022-04-02": [(date(2022, 4, 2), 2, "malformed_json", "")],
        "2022-04-03": [(date(2022, 4, 3), 1, "malformed_json", "bad")],
    }  # fmt: skip


def test_empty_day_file_gives_no_rows(engine, tmp_path):
    parsed = _parse(engine, "", tmp_path)
    assert parsed.valid.num_rows == 0
    assert parsed.quarantine.num_rows == 0
    assert parsed.valid.column_names == [
        "date",
        "Contract",
        "Mac",
        "AppName",
        "category",
        "TotalDuration",
        "_id",
    ]
    assert parsed.quarantine.column_names == ["date", "line_number", "reason", "raw_line"]


def test_file_of_one_blank_line_is_one_malformed_line(engine, tmp_path):
    parsed = _parse(engine, b"\n", tmp_path, parts=QUARANTINE_ONLY)
    assert _reasons(parsed) == [(1, "malformed_json")]


def test_duplicate_ids_within_a_day(engine, tmp_path):
    lines = [
        '{"_id": "a1", "_source": {"Contract": "C1", "TotalDuration": 1, "AppName": "VOD"}}',
        '{"_id": "a2", "_source": {"Contract": "C1", "TotalDuration": 2, "AppName": "VOD"}}',
        '{"_id": "a1", "_source": {"Contract": "C1", "TotalDuration": 3, "AppName": "VOD"}}',
        '{"_id": "b1", "_source": {"Contract": "0", "TotalDuration": 4, "AppName": "VOD"}}',
        '{"_id": "b1", "_source": {"Contract": "C1", "TotalDuration": 5, "AppName": "VOD"}}',
        '{"_id": "a1", "_source": {"Contract": "C1", "TotalDuration": 6, "AppName": "YOUTUBE"}}',
        '{"_id": "a1", "_source": {"Contract": "C1", "TotalDuration": 7, "AppName": "VOD"}}',
        '{"_id": "m1"}',
        '{"_id": "m1", "_source": {"Contract": "C1", "TotalDuration": 8, "AppName": "VOD"}}',
        '{"_id": "z1", "_source": {"Contract": "C1", "TotalDuration": 9',
        '{"_id": "z1", "_source": {"Contract": "C1", "TotalDuration": 10, "AppName": "VOD"}}',
        '{"_source": {"Contract": "C1", "TotalDuration": 11, "AppName": "VOD"}}',
        '{"_source": {"Contract": "C1", "TotalDuration": 12, "AppName": "VOD"}}',
        '{"_id": null, "_source": {"Contract": "C1", "TotalDuration": 13, "AppName": "VOD"}}',
        '{"_id": null, "_source": {"Contract": "C1", "TotalDuration": 14, "AppName": "VOD"}}',
        '{"_id": "A1", "_source": {"Contract": "C1", "TotalDuration": 15, "AppName": "VOD"}}',
    ]
    parsed = _parse(engine, "\n".join(lines) + "\n", tmp_path)
    assert _reasons(parsed) == [
        (3, "duplicate_id"),
        (4, "invalid_contract"),
        (5, "duplicate_id"),  # the earlier b1 was itself quarantined
        (6, "unknown_app"),  # a repeated id, but unknown_app comes first
        (7, "duplicate_id"),
        (8, "missing_source"),
        (9, "duplicate_id"),  # the earlier m1 had no _source
        (10, "malformed_json"),  # a line that is not JSON has no _id
    ]
    assert [(row[3], row[4]) for row in _valid(parsed)] == [
        (1, "a1"),
        (2, "a2"),
        (10, "z1"),
        (11, None),
        (12, None),
        (13, None),
        (14, None),
        (15, "A1"),
    ]


def test_same_id_on_two_days_is_valid_on_both(engine, tmp_path):
    line = '{"_id": "d1", "_source": {"Contract": "C1", "TotalDuration": 30, "AppName": "RELAX"}}'
    first = _parse(engine, line + "\n", tmp_path, date(2022, 4, 1))
    second = _parse(engine, line + "\n", tmp_path, date(2022, 4, 2))
    for parsed in (first, second):
        assert _reasons(parsed) == []
        assert _valid(parsed) == [("C1", "RELAX", "Giai Tri", 30, "d1")]
    assert first.valid.column("date").to_pylist() == [date(2022, 4, 1)]
    assert second.valid.column("date").to_pylist() == [date(2022, 4, 2)]


# --- daily_pivot ---------------------------------------------------------------------------------


def test_daily_pivot_sums_per_date_and_contract(engine):
    raw = _raw(
        (date(2022, 4, 2), "C1", "KPLUS", "Truyen Hinh", 100, "a1"),
        (date(2022, 4, 1), "C1", "VOD", "Phim Truyen", 50, "a2"),
        (date(2022, 4, 1), "C1", "FIMS", "Phim Truyen", 25, "a3"),
        (date(2022, 4, 1), "C1", "SPORT", "The Thao", 7, "a4"),
        (date(2022, 4, 1), "C2", "CHILD", "Thieu Nhi", 3, "a5"),
        (date(2022, 4, 1), "C2", "RELAX", "Giai Tri", 4, "a6"),
        (date(2022, 4, 1), "C2", "RELAX", "Giai Tri", 6, "a7"),
        (date(2022, 4, 1), "C3", "CHANNEL", "Truyen Hinh", 0, "a8"),
    )
    pivot = engine.fetch(daily_pivot(raw))
    assert pivot.column_names == PIVOT_COLUMNS
    assert all(pivot.schema.field(c).type == pa.int64() for c in PIVOT_COLUMNS[2:])
    assert _rows(pivot) == [
        (date(2022, 4, 1), "C1", 0, 75, 7, 0, 0),
        (date(2022, 4, 1), "C2", 10, 0, 0, 3, 0),
        (date(2022, 4, 1), "C3", 0, 0, 0, 0, 0),
        (date(2022, 4, 2), "C1", 0, 0, 0, 0, 100),
    ]


def test_daily_pivot_of_a_parsed_day(engine, tmp_path):
    lines = [
        '{"_id": "p1", "_source": {"Contract": " C1", "TotalDuration": "40", "AppName": "dshd"}}',
        '{"_id": "p2", "_source": {"Contract": "C1 ", "TotalDuration": 2, "AppName": "DSHD"}}',
        '{"_id": "p1", "_source": {"Contract": "C1", "TotalDuration": 1000, "AppName": "DSHD"}}',
        '{"_id": "p3", "_source": {"Contract": "C2", "TotalDuration": 1000, "AppName": "YOUTUBE"}}',
        '{"_id": "p4", "_source": {"Contract": "C3", "TotalDuration": 0, "AppName": "BHD_RES"}}',
    ]
    with content_day(engine, "\n".join(lines), tmp_path, date(2022, 4, 5)) as parsed:
        pivot = engine.fetch(daily_pivot(parsed.valid))
    assert _rows(pivot) == [
        (date(2022, 4, 5), "C1", 0, 0, 0, 0, 42),
        (date(2022, 4, 5), "C3", 0, 0, 0, 0, 0),
    ]


def test_daily_pivot_reads_a_dataset(engine, tmp_path: Path):
    first = tmp_path / "2022-04-01.parquet"
    second = tmp_path / "2022-04-02.parquet"
    pq.write_table(_raw((date(2022, 4, 1), "C1", "VOD", "Phim Truyen", 5, "a1")), first)
    pq.write_table(
        _raw(
            (date(2022, 4, 2), "C1", "VOD", "Phim Truyen", 6, "a1"),
            (date(2022, 4, 2), "C1", "SPORT", "The Thao", 8, "a2"),
        ),
        second,
    )
    lake = lake_files(tmp_path, RAW_LOG_CONTENT, first.name, second.name)
    pivot = engine.fetch(daily_pivot(lake))
    assert _rows(pivot) == [
        (date(2022, 4, 1), "C1", 0, 5, 0, 0, 0),
        (date(2022, 4, 2), "C1", 0, 6, 8, 0, 0),
    ]


# --- customer_content_stats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("totals", "most_watch", "taste"),
    [
        # totals: Giai Tri, Phim Truyen, The Thao, Thieu Nhi, Truyen Hinh
        pytest.param((0, 0, 0, 0, 0), None, None, id="all-zero"),
        pytest.param((5, 0, 0, 0, 0), "Giai Tri", "Giai Tri", id="only-giai-tri"),
        pytest.param((0, 0, 0, 0, 9), "Truyen Hinh", "Truyen Hinh", id="only-truyen-hinh"),
        pytest.param((1, 2, 3, 10, 4), "Thieu Nhi", "Giai Tri-Phim Truyen-The Thao-Thieu Nhi-Truyen Hinh", id="unique-max"),
        pytest.param((10, 3, 3, 0, 0), "Giai Tri", "Giai Tri-Phim Truyen-The Thao", id="tie-below-max"),
        pytest.param((0, 7, 0, 0, 7), "Truyen Hinh", "Phim Truyen-Truyen Hinh", id="tie-truyen-hinh-phim-truyen"),
        pytest.param((9, 9, 0, 0, 0), "Phim Truyen", "Giai Tri-Phim Truyen", id="tie-phim-truyen-giai-tri"),
        pytest.param((0, 0, 4, 4, 0), "The Thao", "The Thao-Thieu Nhi", id="tie-the-thao-thieu-nhi"),
        pytest.param((0, 6, 6, 0, 0), "Phim Truyen", "Phim Truyen-The Thao", id="tie-phim-truyen-the-thao"),
        pytest.param((3, 0, 0, 3, 0), "Thieu Nhi", "Giai Tri-Thieu Nhi", id="tie-thieu-nhi-giai-tri"),
        pytest.param((8, 0, 8, 8, 1), "The Thao", "Giai Tri-The Thao-Thieu Nhi-Truyen Hinh", id="tie-three-way"),
        pytest.param((5, 5, 5, 5, 0), "Phim Truyen", "Giai Tri-Phim Truyen-The Thao-Thieu Nhi", id="tie-four-way"),
        pytest.param((2, 2, 2, 2, 2), "Truyen Hinh", "Giai Tri-Phim Truyen-The Thao-Thieu Nhi-Truyen Hinh", id="tie-five-way"),
    ],
)  # fmt: skip
def test_most_watch_and_taste(engine, totals, most_watch, taste):
    stats = engine.fetch(customer_content_stats(_pivot((date(2022, 4, 12), "C1", *totals))))
    assert stats.column_names == PROFILE_COLUMNS
    assert _rows(stats) == [(date(2022, 4, 1), "C1", *totals, 1, most_watch, taste)]


def test_month_aggregates_days_and_counts_active_days(engine):
    pivot = _pivot(
        (date(2022, 4, 1), "C1", 0, 10, 0, 0, 5),
        (date(2022, 4, 30), "C1", 0, 0, 0, 0, 20),
        (date(2022, 5, 1), "C1", 3, 0, 0, 0, 0),
        (date(2022, 4, 15), "C2", 0, 0, 0, 0, 0),
        (date(2022, 4, 16), "C2", 0, 0, 0, 0, 0),
        (date(2022, 4, 2), "C3", 0, 0, 0, 0, 0),
        (date(2022, 4, 3), "C3", 0, 4, 0, 0, 0),
        (date(2022, 3, 31), "C3", 0, 0, 1, 0, 0),
    )
    assert _rows(engine.fetch(customer_content_stats(pivot))) == [
        (date(2022, 3, 1), "C3", 0, 0, 1, 0, 0, 1, "The Thao", "The Thao"),
        (date(2022, 4, 1), "C1", 0, 10, 0, 0, 25, 2, "Truyen Hinh", "Phim Truyen-Truyen Hinh"),
        (date(2022, 4, 1), "C2", 0, 0, 0, 0, 0, 2, None, None),
        (date(2022, 4, 1), "C3", 0, 4, 0, 0, 0, 2, "Phim Truyen", "Phim Truyen"),
        (date(2022, 5, 1), "C1", 3, 0, 0, 0, 0, 1, "Giai Tri", "Giai Tri"),
    ]  # fmt: skip


def test_stats_read_a_dataset_of_two_days(engine, tmp_path: Path):
    first = tmp_path / "date=2022-04-03.parquet"
    second = tmp_path / "date=2022-04-20.parquet"
    pq.write_table(
        _pivot(
            (date(2022, 4, 3), "C1", 0, 30, 0, 0, 0),
            (date(2022, 4, 3), "C2", 0, 0, 0, 0, 0),
        ),
        first,
    )
    pq.write_table(
        _pivot(
            (date(2022, 4, 20), "C1", 0, 0, 0, 0, 30),
            (date(2022, 4, 20), "C3", 1, 0, 0, 0, 0),
        ),
        second,
    )
    lake = lake_files(tmp_path, DAILY_PIVOT, first.name, second.name)
    stats = engine.fetch(customer_content_stats(lake))
    assert _rows(stats) == [
        (date(2022, 4, 1), "C1", 0, 30, 0, 0, 30, 2, "Truyen Hinh", "Phim Truyen-Truyen Hinh"),
        (date(2022, 4, 1), "C2", 0, 0, 0, 0, 0, 1, None, None),
        (date(2022, 4, 1), "C3", 1, 0, 0, 0, 0, 1, "Giai Tri", "Giai Tri"),
    ]  # fmt: skip


def test_days_to_profile_end_to_end(engine, tmp_path):
    """Two day files through parse → pivot → stats; C2's only record on day two lasts 0 s."""
    day_one = "\r\n".join(
        [
            '{"_id": "e1", "_source": {"Contract": "C1", "TotalDuration": 60, "AppName": "RELAX"}}',
            '{"_id": "e2", "_source": {"Contract": "C1", "TotalDuration": "40", "AppName": "child"}}',
            '{"_id": "e3", "_source": {"Contract": "C2", "TotalDuration": 15, "AppName": "SPORT"}}',
            '{"_id": "e4", "_source": {"Contract": "C3", "TotalDuration": 15, "AppName": "YOUTUBE"}}',
        ]
    )
    day_two = "\n".join(
        [
            '{"_id": "e1", "_source": {"Contract": "C1", "TotalDuration": 100, "AppName": "CHILD"}}',
            '{"_id": "e2", "_source": {"Contract": " C2 ", "TotalDuration": 0, "AppName": "VOD"}}',
            '{"_id": "e1", "_source": {"Contract": "C1", "TotalDuration": 999, "AppName": "VOD"}}',
        ]
    )
    first = _parse(engine, day_one, tmp_path, date(2022, 4, 10))
    second = _parse(engine, day_two + "\n", tmp_path, date(2022, 4, 11))
    assert _reasons(first) == [(4, "unknown_app")]
    assert _reasons(second) == [(3, "duplicate_id")]
    # The pivot is a query, and the source of the stats: the chain runs as one query.
    pivot = daily_pivot(pa.concat_tables([first.valid, second.valid]))
    assert _rows(engine.fetch(pivot)) == [
        (date(2022, 4, 10), "C1", 60, 0, 0, 40, 0),
        (date(2022, 4, 10), "C2", 0, 0, 15, 0, 0),
        (date(2022, 4, 11), "C1", 0, 0, 0, 100, 0),
        (date(2022, 4, 11), "C2", 0, 0, 0, 0, 0),
    ]
    assert _rows(engine.fetch(customer_content_stats(pivot))) == [
        (date(2022, 4, 1), "C1", 60, 0, 0, 140, 0, 2, "Thieu Nhi", "Giai Tri-Thieu Nhi"),
        (date(2022, 4, 1), "C2", 0, 0, 15, 0, 0, 2, "The Thao", "The Thao"),
    ]  # fmt: skip
