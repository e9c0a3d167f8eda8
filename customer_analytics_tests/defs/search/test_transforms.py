"""The search-log rules on both engines (docs/contract.md §2-§3).

Covers `parse_search_days` (every quarantine reason, the order of reasons, duplicate eventIDs,
leading-zero user ids, NFC/NFD, white-space and voice-search variants, the valid and quarantine
columns), `monthly_top_keyword` (counts, totals, code-point tie-break, months) and
`customer_search_stats` (the four tastes). Every test of the transforms takes the `engine`
fixture and runs on DuckDB and on Spark; each parses its day once and fetches only what it
asserts, but the many cases of the parametrized tests are each a day of their own, registered
at import and parsed all at once per engine (`cases`). Every fixture is a literal table and
every expected value is worked out by hand.
"""

import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_analytics.defs.search.schemas import (
    LOG_SEARCH_FILE,
    MONTHLY_TOP_KEYWORD,
    RAW_LOG_SEARCH,
)
from customer_analytics.defs.search.transforms import (
    customer_search_stats,
    monthly_top_keyword,
    parse_search_days,
)
from customer_analytics.engines.base import Engine
from customer_analytics_tests.engines.run import (
    PARTS,
    VALID_ONLY,
    Parsed,
    ParsedCases,
    SearchCases,
    fetched,
    lake_files,
    parse_search,
)

# createDataFrame checks the installed pandas even when given Arrow tables.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

DAY = date(2022, 6, 1)

EVENTS_SCHEMA = pa.schema(
    [
        ("eventID", pa.string()),
        ("datetime", pa.string()),
        ("user_id", pa.string()),
        ("keyword", pa.string()),
        ("category", pa.string()),
        ("proxy_isp", pa.string()),
        ("platform", pa.string()),
        ("networkType", pa.string()),
        ("action", pa.string()),
        ("userPlansMap", pa.list_(pa.string())),
        ("row_number", pa.int64()),
    ]
)

# A raw row that passes every rule. `_events` numbers rows and gives each its own eventID.
DEFAULTS = {
    "datetime": "2022-06-01 18:59:12.345",
    "user_id": "u1",
    "keyword": "conan",
    "category": "enter",
    "proxy_isp": "viettel",
    "platform": "android",
    "networkType": "wifi",
    "action": "search",
    "userPlansMap": ["Kplus"],
}

VALID_COLUMNS = [
    "date",
    "eventID",
    "datetime",
    "user_id",
    "keyword",
    "raw_keyword",
    "platform",
    "proxy_isp",
    "networkType",
]
QUARANTINE_COLUMNS = ["date", "row_number", "reason", "record"]
TOP_COLUMNS = ["month", "user_id", "keyword", "search_count", "total_searches"]
STATS_COLUMNS = [
    "month",
    "user_id",
    "keyword_prev",
    "category_prev",
    "keyword_cur",
    "category_cur",
    "taste",
]

VOICE = "Tìm kiếm bằng giọng nói"
# The same words decomposed: ì = i + U+0300, ế = e + U+0302 + U+0301, ằ = a + U+0306 + U+0300,
# ọ = o + U+0323, ó = o + U+0301.
VOICE_NFD = "Ti\u0300m kie\u0302\u0301m ba\u0306\u0300ng gio\u0323ng no\u0301i"


def _events(*rows: dict) -> pa.Table:
    """Raw rows numbered 1, 2, ... in order; row i defaults to eventID "e<i>" and DEFAULTS."""
    records = []
    for number, overrides in enumerate(rows, start=1):
        record = {"eventID": f"e{number}", **DEFAULTS, "row_number": number, **overrides}
        records.append(record)
    return pa.Table.from_pylist(records, schema=EVENTS_SCHEMA)


def _parse(engine: Engine, *rows: dict, day: date = DAY, parts: Sequence[str] = PARTS) -> Parsed:
    """The rows (see `_events`) parsed once by the engine as one day."""
    return parse_search(engine, _events(*rows), day, parts)


# The cases of the parametrized tests below: each the raw rows of a day (`_day`), registered
# as each table is defined and parsed by each engine all at once (`cases`).
CASES = SearchCases(_events)


def _day(*rows: dict) -> str:
    """The case of a day of raw `rows` (see `_events`): its key in `CASES` and `cases`."""
    return json.dumps(rows, ensure_ascii=False, sort_keys=True)


_registered = CASES.registered


@pytest.fixture(scope="module")
def cases(module_engine: Engine) -> ParsedCases[str]:
    return CASES.parse(module_engine)


def _with_datetime(text: str | None) -> str:
    return _day({"datetime": text})


def _after_g1_with_datetime(text: str) -> str:
    return _day({"eventID": "g1"}, {"datetime": text})


def _user_a(user_id: str) -> str:
    return _day({"eventID": "a", "user_id": user_id})


def _with_action(action: str) -> str:
    return _day({"action": action})


def _keyword_a(keyword: str) -> str:
    return _day({"eventID": "a", "keyword": keyword})


def _after_g1(row: dict) -> str:
    return _day({"eventID": "g1"}, row)


def _repeating_g1(row: dict) -> str:
    """Row 2 repeats row 1's eventID, so that duplicate_event always comes last."""
    return _day({"eventID": "g1"}, {**row, "eventID": "g1"})


def _reasons(parsed: Parsed) -> list[tuple[int, str]]:
    rows = [(row["row_number"], row["reason"]) for row in parsed.quarantine.to_pylist()]
    return sorted(rows)


def _valid(parsed: Parsed) -> list[tuple]:
    """(eventID, user_id, keyword, raw_keyword) of each valid row."""
    columns = ["eventID", "user_id", "keyword", "raw_keyword"]
    rows = [tuple(row[c] for c in columns) for row in parsed.valid.to_pylist()]
    return sorted(rows, key=lambda row: (row[0] is None, row[0] or "", row[2]))


def _rows(table: pa.Table) -> list[tuple]:
    """Rows as tuples, sorted by their first two columns (the primary key of the outputs)."""
    return sorted((tuple(row.values()) for row in table.to_pylist()), key=lambda r: (r[0], r[1]))


def _top_keywords(engine: Engine, searches) -> pa.Table:
    return engine.fetch(monthly_top_keyword(searches))


def _search_stats(engine: Engine, top, categories, month: date, previous_month: date) -> pa.Table:
    return engine.fetch(customer_search_stats(top, categories, month, previous_month))


def _searches(*rows: tuple) -> pa.Table:
    """raw_log_search rows from (date, user_id, keyword)."""
    records = [
        {
            "date": day,
            "eventID": f"s{number}",
            "datetime": datetime(day.year, day.month, day.day, 12, 0, 0),
            "user_id": user_id,
            "keyword": keyword,
            "raw_keyword": keyword.upper(),
            "platform": "android",
            "proxy_isp": "viettel",
            "networkType": "wifi",
        }
        for number, (day, user_id, keyword) in enumerate(rows, start=1)
    ]
    return pa.Table.from_pylist(records, schema=RAW_LOG_SEARCH)


def _top(*rows: tuple) -> pa.Table:
    """monthly_top_keyword rows from (month, user_id, keyword, search_count, total_searches)."""
    records = [dict(zip(TOP_COLUMNS, row, strict=True)) for row in rows]
    return pa.Table.from_pylist(records, schema=MONTHLY_TOP_KEYWORD)


def _categories(*rows: tuple) -> pa.Table:
    """keyword_category-like rows from (keyword, category), with extra columns filled."""
    return pa.table(
        {
            "keyword": [row[0] for row in rows],
            "category": [row[1] for row in rows],
            "source": ["rules"] * len(rows),
            "model": ["lexicon-v1"] * len(rows),
        }
    )


def test_raw_columns():
    """The columns of the raw file, which a quarantined row's `record` gives."""
    assert tuple(LOG_SEARCH_FILE.names) == (
        "eventID",
        "datetime",
        "user_id",
        "keyword",
        "category",
        "proxy_isp",
        "platform",
        "networkType",
        "action",
        "userPlansMap",
    )


# --- parse_search_days: valid rows ----------------------------------------------------------------


def test_valid_row_keeps_every_field(engine):
    parsed = _parse(
        engine,
        {
            "eventID": "ev-1",
            "datetime": "2022-06-01 18:59:12.345",
            "user_id": " 0014111 ",
            "keyword": "  Phim\u00a0HÀN  Quốc ",
            "platform": "smarttv",
            "proxy_isp": "fpt",
            "networkType": "ethernet",
        },
        day=date(2022, 6, 7),
    )
    assert parsed.valid.column_names == VALID_COLUMNS
    assert parsed.valid.to_pylist() == [
        {
            "date": date(2022, 6, 7),
            "eventID": "ev-1",
            "datetime": datetime(2022, 6, 1, 18, 59, 12, 345000),
            "user_id": "0014111",
            "keyword": "phim hàn quốc",
            "raw_keyword": "  Phim\u00a0HÀN  Quốc ",
            "platform": "smarttv",
            "proxy_isp": "fpt",
            "networkType": "ethernet",
        }
    ]
    assert parsed.quarantine.num_rows == 0
    assert parsed.quarantine.column_names == QUARANTINE_COLUMNS


def test_output_types(engine):
    parsed = _parse(engine, {}, {"user_id": None})
    valid = parsed.valid.schema
    assert valid.field("date").type == pa.date32()
    assert pa.types.is_timestamp(valid.field("datetime").type)
    for column in VALID_COLUMNS[3:]:
        assert valid.field(column).type == pa.string(), column
    quarantine = parsed.quarantine.schema
    assert quarantine.field("date").type == pa.date32()
    assert quarantine.field("row_number").type == pa.int64()
    assert quarantine.field("reason").type == pa.string()
    assert quarantine.field("record").type == pa.string()


def test_date_is_the_day_passed_not_the_datetime(engine):
    parsed = _parse(
        engine, {"datetime": "2022-05-31 23:59:59.999"}, day=date(2022, 6, 1), parts=VALID_ONLY
    )
    assert parsed.valid.column("date").to_pylist() == [date(2022, 6, 1)]
    assert parsed.valid.column("datetime").to_pylist() == [
        datetime(2022, 5, 31, 23, 59, 59, 999000)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    _registered(_with_datetime, [
        pytest.param("2022-06-01 18:59:12.345", datetime(2022, 6, 1, 18, 59, 12, 345000), id="ms"),
        pytest.param("2022-06-14 00:00:00.000", datetime(2022, 6, 14, 0, 0, 0), id="midnight"),
        pytest.param("2022-07-01 09:05:07", datetime(2022, 7, 1, 9, 5, 7), id="no-fraction"),
        pytest.param("2022-07-01 09:05:07.5", datetime(2022, 7, 1, 9, 5, 7, 500000), id="one-digit-fraction"),
        pytest.param("2022-06-30 23:59:59.999999", datetime(2022, 6, 30, 23, 59, 59, 999999), id="microseconds"),
        pytest.param("2022-06-01T18:59:12", datetime(2022, 6, 1, 18, 59, 12), id="iso-t"),
        pytest.param(" 2022-06-01 18:59:12.345\t", datetime(2022, 6, 1, 18, 59, 12, 345000), id="white-space-trimmed"),
        pytest.param("\u00a02022-06-01 18:59:12\u3000", datetime(2022, 6, 1, 18, 59, 12), id="unicode-white-space-trimmed"),
        pytest.param("2024-02-29 10:00:00", datetime(2024, 2, 29, 10, 0, 0), id="leap-day"),
        pytest.param(None, None, id="null-stays-null"),
    ]),
)  # fmt: skip
def test_datetime_is_parsed_or_null_and_the_row_stays_valid(cases, text, expected):
    parsed = cases[_with_datetime(text)]
    assert _reasons(parsed) == []
    assert parsed.valid.column("datetime").to_pylist() == [expected]


@pytest.mark.parametrize(
    "text",
    _registered(_after_g1_with_datetime, [
        pytest.param("abc", id="text"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("?", id="question-mark"),
        pytest.param("2022-13-01 10:00:00", id="month-13"),
        pytest.param("2022-02-30 10:00:00", id="february-30"),
        pytest.param("2022-02-29 10:00:00", id="february-29-not-leap"),
        pytest.param("2022-06-01 24:00:00", id="hour-24"),
        pytest.param("2022-06-01 18:60:00", id="minute-60"),
        pytest.param("2022-06-01 18:59:60", id="second-60"),
        pytest.param("2022-06-01", id="date-only"),
        pytest.param("18:59:12", id="time-only"),
        pytest.param("2022-6-1 1:2:3", id="no-leading-zeros"),
        pytest.param("2022-06-01  18:59:12", id="two-spaces"),
        pytest.param("2022-06-01 18:59:12.3456789", id="seven-digit-fraction"),
        pytest.param("2022-06-01 18:59:12.", id="empty-fraction"),
        pytest.param("2022-06-01 18:59:12+07", id="offset"),
        pytest.param("2022-06-01 18:59:12Z", id="zulu"),
        pytest.param("01/06/2022 18:59:12", id="day-first"),
        pytest.param("1654109952", id="epoch-seconds"),
        pytest.param("infinity", id="infinity"),
        pytest.param("epoch", id="epoch-word"),
    ]),
)  # fmt: skip
def test_datetime_that_is_not_a_time_is_quarantined_with_its_text(cases, text):
    parsed = cases[_after_g1_with_datetime(text)]
    quarantine = parsed.quarantine.to_pylist()
    assert [(r["date"], r["row_number"], r["reason"]) for r in quarantine] == [
        (cases.day(_after_g1_with_datetime(text)), 2, "invalid_datetime")
    ]
    assert json.loads(quarantine[0]["record"])["datetime"] == text
    assert _valid(parsed) == [("g1", "u1", "conan", "conan")]


def test_datetime_with_microseconds_does_not_break_the_day(engine):
    """A timestamp finer than the usual milliseconds keeps its microseconds and never fails
    the day."""
    parsed = _parse(engine, {"datetime": "2022-06-01 18:59:12.345678"}, {})
    assert _reasons(parsed) == []
    assert parsed.valid.column("datetime").to_pylist()[0] == datetime(
        2022, 6, 1, 18, 59, 12, 345678
    )
    assert parsed.valid.num_rows == 2


@pytest.mark.parametrize(
    ("user_id", "expected"),
    _registered(_user_a, [
        pytest.param("14111", "14111", id="plain"),
        pytest.param("0014111", "0014111", id="leading-zeros-kept"),
        pytest.param(" 0014111 ", "0014111", id="leading-zeros-trimmed"),
        pytest.param("   7", "7", id="left-spaces"),
        pytest.param("0", "0", id="zero-is-a-user"),
        pytest.param("00", "00", id="zeros"),
        pytest.param("NULLX", "NULLX", id="null-prefix"),
        pytest.param("xnull", "xnull", id="null-suffix"),
        pytest.param("NU LL", "NU LL", id="null-inner-space"),
        pytest.param("\t0014111\n", "0014111", id="tab-newline-trimmed"),
        pytest.param("\u00a00014111\u3000", "0014111", id="unicode-white-space-trimmed"),
        pytest.param("00\t14111", "00\t14111", id="inner-tab-kept"),
    ]),
)  # fmt: skip
def test_user_id_is_trimmed_and_leading_zeros_kept(cases, user_id, expected):
    parsed = cases[_user_a(user_id)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [("a", expected, "conan", "conan")]


def test_leading_zero_user_ids_are_different_users(engine):
    parsed = _parse(
        engine,
        {"eventID": "a", "user_id": "0014111"},
        {"eventID": "b", "user_id": "14111"},
        {"eventID": "c", "user_id": "014111"},
        parts=VALID_ONLY,
    )
    assert _valid(parsed) == [
        ("a", "0014111", "conan", "conan"),
        ("b", "14111", "conan", "conan"),
        ("c", "014111", "conan", "conan"),
    ]


@pytest.mark.parametrize(
    "action",
    _registered(
        _with_action,
        ["search", "SEARCH", "Search", " search ", "  SeArCh", "\tsearch\n", "\u00a0Search\u3000"],
    ),
)
def test_search_action_in_any_case_and_spacing(cases, action):
    parsed = cases[_with_action(action)]
    assert _reasons(parsed) == []
    assert parsed.valid.num_rows == 1


@pytest.mark.parametrize(
    ("keyword", "expected"),
    _registered(_keyword_a, [
        pytest.param("TRUCTIEPBONGDAHOMNAY", "tructiepbongdahomnay", id="run-on"),
        pytest.param("Phim H\u00e0n Qu\u1ed1c", "phim hàn quốc", id="nfc"),
        pytest.param("Phim Ha\u0300n Quo\u0302\u0301c", "phim hàn quốc", id="nfd"),
        pytest.param("phim\thàn\nquốc", "phim hàn quốc", id="tab-newline"),
        pytest.param("\u00a0phim \u00a0 hàn\u3000quốc\u00a0", "phim hàn quốc", id="nbsp-ideographic"),
        pytest.param("  ĐÁ   BÓNG  ", "đá bóng", id="upper-spaces"),
        # Close to the voice-search placeholder, but not it.
        pytest.param("tim kiem bang giong noi", "tim kiem bang giong noi", id="voice-no-diacritics"),
        pytest.param("Tìm kiếm bằng giọng nói hay", "tìm kiếm bằng giọng nói hay", id="voice-longer"),
        pytest.param("Tìm kiếm", "tìm kiếm", id="voice-prefix"),
        pytest.param("bằng giọng nói", "bằng giọng nói", id="voice-suffix"),
        pytest.param("Tìmkiếmbằnggiọngnói", "tìmkiếmbằnggiọngnói", id="voice-run-on"),
    ]),
)  # fmt: skip
def test_keyword_is_normalized_and_raw_keyword_kept(cases, keyword, expected):
    parsed = cases[_keyword_a(keyword)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [("a", "u1", expected, keyword)]


# The longest valid user_id (255 characters) and normalized keyword (500 characters).
USER_ID_255 = "0" + "0123456789" * 25 + "1234"
KEYWORD_500 = "phim " * 99 + "conan"


def test_fixture_lengths_are_what_they_claim():
    assert len(USER_ID_255) == 255
    assert len(KEYWORD_500) == 500


@pytest.mark.parametrize(
    ("user_id", "expected"),
    _registered(_user_a, [
        pytest.param(USER_ID_255, USER_ID_255, id="255"),
        pytest.param(" " + USER_ID_255 + "\t", USER_ID_255, id="255-after-trimming"),
        pytest.param("\u0110" * 255, "\u0110" * 255, id="255-two-byte"),
    ]),
)  # fmt: skip
def test_user_id_of_255_characters_is_valid(cases, user_id, expected):
    parsed = cases[_user_a(user_id)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [("a", expected, "conan", "conan")]


@pytest.mark.parametrize(
    ("keyword", "expected"),
    _registered(_keyword_a, [
        pytest.param(KEYWORD_500, KEYWORD_500, id="500"),
        pytest.param(KEYWORD_500.upper(), KEYWORD_500, id="500-upper"),
        pytest.param("  " + KEYWORD_500.replace(" ", "\u00a0 \t") + "\u3000", KEYWORD_500, id="500-after-collapsing-white-space"),
        pytest.param("a" + " " * 600 + "b", "a b", id="600-characters-of-spaces-collapse"),
        pytest.param("a\u0300" * 300, "\u00e0" * 300, id="600-code-points-nfd-compose-to-300"),
        pytest.param("\u0111" * 500, "\u0111" * 500, id="500-two-byte"),
    ]),
)  # fmt: skip
def test_keyword_is_limited_once_normalized(cases, keyword, expected):
    parsed = cases[_keyword_a(keyword)]
    assert _reasons(parsed) == []
    assert _valid(parsed) == [("a", "u1", expected, keyword)]


def test_keyword_of_600_characters_is_quarantined_with_its_text(engine):
    keyword = "phim hay " * 66 + "conan "  # 600 characters, 599 once normalized
    parsed = _parse(engine, {"eventID": "g1"}, {"keyword": keyword})
    quarantine = parsed.quarantine.to_pylist()
    assert [(r["row_number"], r["reason"]) for r in quarantine] == [(2, "keyword_too_long")]
    assert json.loads(quarantine[0]["record"])["keyword"] == keyword
    assert _valid(parsed) == [("g1", "u1", "conan", "conan")]


def test_nfc_and_nfd_rows_give_the_same_keyword(engine):
    parsed = _parse(
        engine,
        {"eventID": "a", "keyword": "Phim H\u00e0n Qu\u1ed1c"},
        {"eventID": "b", "keyword": "Phim Ha\u0300n Quo\u0302\u0301c"},
        parts=VALID_ONLY,
    )
    assert parsed.valid.column("keyword").to_pylist() == ["phim hàn quốc", "phim hàn quốc"]
    assert parsed.valid.column("raw_keyword").to_pylist() == [
        "Phim H\u00e0n Qu\u1ed1c",
        "Phim Ha\u0300n Quo\u0302\u0301c",
    ]


# --- parse_search_days: one reason per row --------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    _registered(_after_g1, [
        # invalid_user_id
        pytest.param({"user_id": None}, "invalid_user_id", id="user-null"),
        pytest.param({"user_id": ""}, "invalid_user_id", id="user-empty"),
        pytest.param({"user_id": "   "}, "invalid_user_id", id="user-spaces"),
        pytest.param({"user_id": "NULL"}, "invalid_user_id", id="user-NULL"),
        pytest.param({"user_id": "null"}, "invalid_user_id", id="user-null-text"),
        pytest.param({"user_id": " Null "}, "invalid_user_id", id="user-Null-spaces"),
        pytest.param({"user_id": "nUlL"}, "invalid_user_id", id="user-mixed-case-null"),
        pytest.param({"user_id": "\t"}, "invalid_user_id", id="user-tab"),
        pytest.param({"user_id": "\u00a0\u3000\r\n"}, "invalid_user_id", id="user-unicode-white-space"),
        pytest.param({"user_id": "\tNULL\u00a0"}, "invalid_user_id", id="user-NULL-tab-nbsp"),
        # user_id_too_long
        pytest.param({"user_id": "1" * 256}, "user_id_too_long", id="user-256"),
        pytest.param({"user_id": "\u0110" * 256}, "user_id_too_long", id="user-256-two-byte"),
        # not_search_action
        pytest.param({"action": None}, "not_search_action", id="action-null"),
        pytest.param({"action": ""}, "not_search_action", id="action-empty"),
        pytest.param({"action": "   "}, "not_search_action", id="action-spaces"),
        pytest.param({"action": "enter"}, "not_search_action", id="action-enter"),
        pytest.param({"action": "quit"}, "not_search_action", id="action-quit"),
        pytest.param({"action": "searching"}, "not_search_action", id="action-searching"),
        pytest.param({"action": "sea rch"}, "not_search_action", id="action-inner-space"),
        pytest.param({"action": "search_voice"}, "not_search_action", id="action-suffix"),
        pytest.param({"action": "\t"}, "not_search_action", id="action-tab"),
        # empty_keyword
        pytest.param({"keyword": None}, "empty_keyword", id="keyword-null"),
        pytest.param({"keyword": ""}, "empty_keyword", id="keyword-empty"),
        pytest.param({"keyword": "   "}, "empty_keyword", id="keyword-spaces"),
        pytest.param({"keyword": "\t\n"}, "empty_keyword", id="keyword-tab-newline"),
        pytest.param({"keyword": "\u00a0"}, "empty_keyword", id="keyword-nbsp"),
        pytest.param({"keyword": " \u3000\u2003 "}, "empty_keyword", id="keyword-wide-spaces"),
        pytest.param({"keyword": "\v"}, "empty_keyword", id="keyword-vertical-tab"),
        # keyword_too_long
        pytest.param({"keyword": "k" * 501}, "keyword_too_long", id="keyword-501"),
        pytest.param({"keyword": "k" * 600}, "keyword_too_long", id="keyword-600"),
        pytest.param({"keyword": "\u0111" * 501}, "keyword_too_long", id="keyword-501-two-byte"),
        # voice_search
        pytest.param({"keyword": VOICE}, "voice_search", id="voice"),
        pytest.param({"keyword": "tìm kiếm bằng giọng nói"}, "voice_search", id="voice-lower"),
        pytest.param({"keyword": "TÌM KIẾM BẰNG GIỌNG NÓI"}, "voice_search", id="voice-upper"),
        pytest.param({"keyword": VOICE_NFD}, "voice_search", id="voice-nfd"),
        pytest.param({"keyword": VOICE_NFD.upper()}, "voice_search", id="voice-nfd-upper"),
        pytest.param({"keyword": "  Tìm  kiếm\u00a0bằng\tgiọng\n nói  "}, "voice_search", id="voice-spacing"),
        pytest.param({"keyword": "Tìm kiếm\vbằng giọng nói"}, "voice_search", id="voice-vertical-tab"),
        # duplicate_event: the first row also has eventID "g1".
        pytest.param({"eventID": "g1"}, "duplicate_event", id="duplicate"),
        pytest.param({"eventID": "g1", "keyword": "doraemon", "user_id": "u9"}, "duplicate_event", id="duplicate-other-content"),
    ]),
)  # fmt: skip
def test_each_reason(cases, row, reason):
    parsed = cases[_after_g1(row)]
    quarantine = parsed.quarantine.to_pylist()
    assert [(r["date"], r["row_number"], r["reason"]) for r in quarantine] == [
        (cases.day(_after_g1(row)), 2, reason)
    ]
    assert _valid(parsed) == [("g1", "u1", "conan", "conan")]


@pytest.mark.parametrize(
    ("row", "reason"),
    _registered(_repeating_g1, [
        pytest.param({"user_id": None, "action": "enter", "keyword": None}, "invalid_user_id", id="user-action-keyword"),
        pytest.param({"user_id": " null ", "keyword": VOICE}, "invalid_user_id", id="user-voice"),
        pytest.param({"user_id": "", "keyword": "  "}, "invalid_user_id", id="user-keyword"),
        pytest.param({"action": None, "keyword": ""}, "not_search_action", id="action-keyword"),
        pytest.param({"action": "quit", "keyword": VOICE_NFD}, "not_search_action", id="action-voice"),
        pytest.param({"action": "enter"}, "not_search_action", id="action-duplicate"),
        pytest.param({"keyword": None}, "empty_keyword", id="keyword-duplicate"),
        pytest.param({"keyword": "\u00a0 \t"}, "empty_keyword", id="blank-keyword-duplicate"),
        pytest.param({"keyword": "TÌM KIẾM BẰNG GIỌNG NÓI"}, "voice_search", id="voice-duplicate"),
        pytest.param({"user_id": "1" * 256, "action": "enter", "keyword": None, "datetime": "?"}, "user_id_too_long", id="long-user-action-keyword-datetime"),
        pytest.param({"action": "enter", "keyword": "k" * 600}, "not_search_action", id="action-long-keyword"),
        pytest.param({"keyword": "k" * 600, "datetime": "?"}, "keyword_too_long", id="long-keyword-datetime"),
        pytest.param({"keyword": None, "datetime": "?"}, "empty_keyword", id="keyword-datetime"),
        pytest.param({"keyword": VOICE, "datetime": "?"}, "voice_search", id="voice-datetime"),
        pytest.param({"datetime": "?"}, "invalid_datetime", id="datetime-duplicate"),
    ]),
)  # fmt: skip
def test_first_failing_reason_is_reported(cases, row, reason):
    parsed = cases[_repeating_g1(row)]
    assert _reasons(parsed) == [(2, reason)]


def test_quarantine_record_is_the_raw_row_as_json(engine):
    parsed = _parse(
        engine,
        {},
        {
            "eventID": "q1",
            "datetime": "not a time",
            "user_id": None,
            "keyword": "  Phim Ha\u0300n \u00a0QUỐC ",
            "category": "quit",
            "proxy_isp": None,
            "platform": "ios",
            "networkType": "4g",
            "action": " SEARCH ",
            "userPlansMap": ["Kplus", "VTVcab"],
        },
        {"eventID": "q2", "action": 'say "hi"', "userPlansMap": None},
        day=date(2022, 6, 3),
    )
    quarantine = parsed.quarantine.to_pylist()
    assert [(r["date"], r["row_number"], r["reason"]) for r in quarantine] == [
        (date(2022, 6, 3), 2, "invalid_user_id"),
        (date(2022, 6, 3), 3, "not_search_action"),
    ]
    assert json.loads(quarantine[0]["record"]) == {
        "eventID": "q1",
        "datetime": "not a time",
        "user_id": None,
        "keyword": "  Phim Ha\u0300n \u00a0QUỐC ",
        "category": "quit",
        "proxy_isp": None,
        "platform": "ios",
        "networkType": "4g",
        "action": " SEARCH ",
        "userPlansMap": ["Kplus", "VTVcab"],
    }
    assert json.loads(quarantine[1]["record"]) == {
        "eventID": "q2",
        "datetime": "2022-06-01 18:59:12.345",
        "user_id": "u1",
        "keyword": "conan",
        "category": "enter",
        "proxy_isp": "viettel",
        "platform": "android",
        "networkType": "wifi",
        "action": 'say "hi"',
        "userPlansMap": None,
    }


# --- parse_search_days: duplicate eventIDs --------------------------------------------------------


def test_duplicate_event_ids_within_a_day(engine):
    parsed = _parse(
        engine,
        {"eventID": "e1", "keyword": "k1"},
        {"eventID": "e2", "keyword": "k2"},
        {"eventID": "e1", "keyword": "k3"},
        {"eventID": "b1", "keyword": "k4", "user_id": "NULL"},
        {"eventID": "b1", "keyword": "k5"},
        {"eventID": "e1", "keyword": VOICE},
        {"eventID": "e1", "keyword": "k7"},
        {"eventID": "v1", "keyword": VOICE_NFD},
        {"eventID": "v1", "keyword": "k9"},
        {"eventID": "n1", "keyword": "k10", "action": "enter"},
        {"eventID": "n1", "keyword": "k11"},
        {"eventID": "k1", "keyword": "   "},
        {"eventID": "k1", "keyword": "k13"},
        {"eventID": None, "keyword": "k14"},
        {"eventID": None, "keyword": "k15"},
        {"eventID": "E1", "keyword": "k16"},
        {"eventID": "e2", "keyword": "k17", "user_id": ""},
    )
    assert _reasons(parsed) == [
        (3, "duplicate_event"),
        (4, "invalid_user_id"),
        (5, "duplicate_event"),  # the earlier b1 was itself quarantined
        (6, "voice_search"),  # a repeated id, but voice_search comes first
        (7, "duplicate_event"),
        (8, "voice_search"),
        (9, "duplicate_event"),  # the earlier v1 was a voice search
        (10, "not_search_action"),
        (11, "duplicate_event"),  # the earlier n1 was not a search
        (12, "empty_keyword"),
        (13, "duplicate_event"),  # the earlier k1 had no keyword
        (17, "invalid_user_id"),  # a repeated id, but invalid_user_id comes first
    ]
    assert _valid(parsed) == [
        ("E1", "u1", "k16", "k16"),  # eventIDs compare case-sensitively
        ("e1", "u1", "k1", "k1"),
        ("e2", "u1", "k2", "k2"),
        (None, "u1", "k14", "k14"),  # NULL eventIDs are never duplicates
        (None, "u1", "k15", "k15"),
    ]


def test_earlier_means_lower_row_number_not_table_position(engine):
    events = pa.Table.from_pylist(
        [
            {**DEFAULTS, "eventID": "d1", "keyword": "second", "row_number": 2},
            {**DEFAULTS, "eventID": "d1", "keyword": "third", "row_number": 3},
            {**DEFAULTS, "eventID": "d1", "keyword": "first", "row_number": 1},
        ],
        schema=EVENTS_SCHEMA,
    )
    parsed = parse_search(engine, events, DAY)
    assert _reasons(parsed) == [(2, "duplicate_event"), (3, "duplicate_event")]
    assert _valid(parsed) == [("d1", "u1", "first", "first")]


def test_earlier_quarantined_row_at_lower_row_number_makes_a_duplicate(engine):
    events = pa.Table.from_pylist(
        [
            {**DEFAULTS, "eventID": "d1", "keyword": "later", "row_number": 5},
            {**DEFAULTS, "eventID": "d1", "keyword": VOICE, "row_number": 4},
        ],
        schema=EVENTS_SCHEMA,
    )
    parsed = parse_search(engine, events, DAY)
    assert _reasons(parsed) == [(4, "voice_search"), (5, "duplicate_event")]
    assert _valid(parsed) == []


def test_same_event_id_on_two_days_is_valid_on_both(engine):
    first = _parse(engine, {"eventID": "d1"}, day=date(2022, 6, 1))
    second = _parse(engine, {"eventID": "d1"}, day=date(2022, 6, 2))
    for parsed in (first, second):
        assert _reasons(parsed) == []
        assert _valid(parsed) == [("d1", "u1", "conan", "conan")]
    assert first.valid.column("date").to_pylist() == [date(2022, 6, 1)]
    assert second.valid.column("date").to_pylist() == [date(2022, 6, 2)]


def test_days_parsed_together_number_and_repeat_within_their_day(engine):
    """Two days in one plan: each day's row 2 repeats its row 1, and the other day's same
    eventID is no repeat."""
    events = _events({"eventID": "d1"}, {"eventID": "d1", "keyword": "zing"})
    with parse_search_days(engine, {date(2022, 6, 2): events, date(2022, 6, 1): events}) as days:
        parsed = fetched(engine, days)
    assert parsed.valid.select(["date", "eventID", "keyword"]).to_pylist() == [
        {"date": date(2022, 6, 1), "eventID": "d1", "keyword": "conan"},
        {"date": date(2022, 6, 2), "eventID": "d1", "keyword": "conan"},
    ]
    assert parsed.quarantine.select(["date", "row_number", "reason"]).to_pylist() == [
        {"date": date(2022, 6, 1), "row_number": 2, "reason": "duplicate_event"},
        {"date": date(2022, 6, 2), "row_number": 2, "reason": "duplicate_event"},
    ]


# --- parse_search_days: whole days ----------------------------------------------------------------


def test_mixed_day(engine):
    parsed = _parse(
        engine,
        {"eventID": "m1", "user_id": "0014111", "keyword": "TRUCTIEPBONGDAHOMNAY"},
        {"eventID": "m2", "user_id": "NULL", "keyword": "conan"},
        {"eventID": "m3", "user_id": "14111", "keyword": "Tìm kiếm bằng giọng nói"},
        {"eventID": "m4", "user_id": "14111", "keyword": None},
        {"eventID": "m5", "user_id": "14111", "keyword": "Đá bóng", "action": "enter"},
        {"eventID": "m1", "user_id": "0014111", "keyword": "tructiepbongdahomnay"},
        {"eventID": "m7", "user_id": " 14111", "keyword": "\u0110a\u0301 bo\u0301ng"},
        {"eventID": "m8", "user_id": "14111", "keyword": "đá  bóng", "datetime": "?"},
        {"eventID": "m9", "user_id": "14111", "keyword": "đá  bóng", "datetime": None},
        day=date(2022, 6, 30),
    )
    assert _reasons(parsed) == [
        (2, "invalid_user_id"),
        (3, "voice_search"),
        (4, "empty_keyword"),
        (5, "not_search_action"),
        (6, "duplicate_event"),
        (8, "invalid_datetime"),
    ]
    assert _valid(parsed) == [
        ("m1", "0014111", "tructiepbongdahomnay", "TRUCTIEPBONGDAHOMNAY"),
        ("m7", "14111", "đá bóng", "\u0110a\u0301 bo\u0301ng"),
        ("m9", "14111", "đá bóng", "đá  bóng"),
    ]
    assert parsed.valid.column("date").to_pylist() == [date(2022, 6, 30)] * 3
    assert parsed.quarantine.column("date").to_pylist() == [date(2022, 6, 30)] * 6
    assert sorted(parsed.valid.column("datetime").to_pylist(), key=str) == [
        datetime(2022, 6, 1, 18, 59, 12, 345000),
        datetime(2022, 6, 1, 18, 59, 12, 345000),
        None,
    ]


def test_empty_day_gives_no_rows(engine):
    parsed = parse_search(engine, EVENTS_SCHEMA.empty_table(), DAY)
    assert parsed.valid.num_rows == 0
    assert parsed.quarantine.num_rows == 0
    assert parsed.valid.column_names == VALID_COLUMNS
    assert parsed.quarantine.column_names == QUARANTINE_COLUMNS


def test_day_of_only_quarantined_rows(engine):
    parsed = _parse(
        engine, {"user_id": None}, {"action": None}, {"keyword": None}, {"keyword": VOICE}
    )
    assert _reasons(parsed) == [
        (1, "invalid_user_id"),
        (2, "not_search_action"),
        (3, "empty_keyword"),
        (4, "voice_search"),
    ]
    assert parsed.valid.num_rows == 0
    assert parsed.valid.column_names == VALID_COLUMNS


# --- monthly_top_keyword -------------------------------------------------------------------------


def test_top_keyword_counts_and_total(engine):
    top = _top_keywords(
        engine,
        _searches(
            (date(2022, 6, 1), "u1", "conan"),
            (date(2022, 6, 2), "u1", "doraemon"),
            (date(2022, 6, 3), "u1", "conan"),
            (date(2022, 6, 14), "u1", "phim hàn"),
            (date(2022, 6, 14), "u1", "doraemon"),
            (date(2022, 6, 30), "u1", "conan"),
        ),
    )
    assert top.column_names == TOP_COLUMNS
    assert top.schema.field("month").type == pa.date32()
    assert top.schema.field("search_count").type == pa.int64()
    assert top.schema.field("total_searches").type == pa.int64()
    assert _rows(top) == [(date(2022, 6, 1), "u1", "conan", 3, 6)]


def test_more_searches_beat_a_smaller_keyword(engine):
    top = _top_keywords(
        engine,
        _searches(
            (date(2022, 6, 5), "u1", "a"),
            (date(2022, 6, 5), "u1", "zing"),
            (date(2022, 6, 6), "u1", "zing"),
            (date(2022, 6, 6), "u1", "ao"),
            (date(2022, 6, 7), "u1", "ao"),
            (date(2022, 6, 8), "u1", "zing"),
        ),
    )
    assert _rows(top) == [(date(2022, 6, 1), "u1", "zing", 3, 6)]


@pytest.mark.parametrize(
    ("keywords", "expected"),
    [
        pytest.param(["b", "à"], "b", id="b-before-a-grave"),
        pytest.param(["à", "b"], "b", id="b-before-a-grave-reversed"),
        pytest.param(["z", "đ"], "z", id="z-before-d-stroke"),
        pytest.param(["phim hàn", "phim"], "phim", id="prefix-first"),
        pytest.param(["phim hàn", "phim hay"], "phim hay", id="a-before-a-grave-inside"),
        pytest.param(["cả", "cá"], "cá", id="a-acute-before-a-hook"),
        pytest.param(["10 ngày", "9 ngày"], "10 ngày", id="digits-as-text"),
        pytest.param(["đá bóng", "zing", "da bong"], "da bong", id="three-way"),
        pytest.param(["zing", "đá bóng", "ý"], "zing", id="three-way-diacritics-last"),
        pytest.param(["cả", "cá", "ca"], "ca", id="three-way-same-letters"),
        pytest.param(["ọ", "ó", "ò"], "ò", id="three-way-o"),
    ],
)
def test_ties_go_to_the_smallest_keyword_in_code_point_order(engine, keywords, expected):
    top = _top_keywords(engine, _searches(*[(date(2022, 6, 10), "u1", k) for k in keywords]))
    assert _rows(top) == [(date(2022, 6, 1), "u1", expected, 1, len(keywords))]


def test_tie_between_the_most_searched_only(engine):
    top = _top_keywords(
        engine,
        _searches(
            (date(2022, 6, 1), "u1", "à"),
            (date(2022, 6, 2), "u1", "b"),
            (date(2022, 6, 3), "u1", "a"),
            (date(2022, 6, 4), "u1", "à"),
            (date(2022, 6, 5), "u1", "b"),
        ),
    )
    assert _rows(top) == [(date(2022, 6, 1), "u1", "b", 2, 5)]


def test_months_and_users_are_separate(engine):
    top = _top_keywords(
        engine,
        _searches(
            (date(2022, 6, 30), "u1", "conan"),
            (date(2022, 6, 1), "u1", "conan"),
            (date(2022, 7, 1), "u1", "doraemon"),
            (date(2022, 7, 14), "u1", "conan"),
            (date(2022, 7, 2), "u1", "doraemon"),
            (date(2022, 6, 3), "0014111", "bóng đá"),
            (date(2022, 6, 3), "14111", "running man"),
            (date(2022, 6, 4), "14111", "running man"),
            (date(2022, 6, 4), "14111", "bóng đá"),
            (date(2022, 7, 9), "14111", "thời sự"),
        ),
    )
    assert _rows(top) == [
        (date(2022, 6, 1), "0014111", "bóng đá", 1, 1),
        (date(2022, 6, 1), "14111", "running man", 2, 3),
        (date(2022, 6, 1), "u1", "conan", 2, 2),
        (date(2022, 7, 1), "14111", "thời sự", 1, 1),
        (date(2022, 7, 1), "u1", "doraemon", 2, 3),
    ]


def test_december_and_january(engine):
    top = _top_keywords(
        engine,
        _searches(
            (date(2022, 12, 31), "u1", "conan"),
            (date(2023, 1, 1), "u1", "doraemon"),
        ),
    )
    assert _rows(top) == [
        (date(2022, 12, 1), "u1", "conan", 1, 1),
        (date(2023, 1, 1), "u1", "doraemon", 1, 1),
    ]


def test_top_keyword_reads_a_dataset(engine, tmp_path: Path):
    first = tmp_path / "2022-06-01.parquet"
    second = tmp_path / "2022-06-02.parquet"
    pq.write_table(
        _searches(
            (date(2022, 6, 1), "u1", "phim hàn"),
            (date(2022, 6, 1), "u2", "conan"),
        ),
        first,
    )
    pq.write_table(
        _searches(
            (date(2022, 6, 2), "u1", "phim"),
            (date(2022, 6, 2), "u1", "phim"),
            (date(2022, 6, 2), "u1", "phim hàn"),
        ),
        second,
    )
    lake = lake_files(tmp_path, RAW_LOG_SEARCH, first.name, second.name)
    top = _top_keywords(engine, lake)
    assert _rows(top) == [
        (date(2022, 6, 1), "u1", "phim", 2, 4),
        (date(2022, 6, 1), "u2", "conan", 1, 1),
    ]


def test_parsed_days_to_top_keyword(engine):
    """Two day files through parse → monthly_top_keyword; spelling variants count together."""
    day_one = _parse(
        engine,
        {"eventID": "a1", "user_id": "0014111", "keyword": "Phim H\u00e0n"},
        {"eventID": "a2", "user_id": " 0014111", "keyword": "Conan"},
        {"eventID": "a3", "user_id": "0014111", "keyword": VOICE},
        {"eventID": "a3", "user_id": "0014111", "keyword": "doraemon"},
        day=date(2022, 6, 1),
        parts=VALID_ONLY,
    )
    day_two = _parse(
        engine,
        {"eventID": "a1", "user_id": "0014111 ", "keyword": "PHIM  HA\u0300N"},
        {"eventID": "a2", "user_id": "14111", "keyword": "conan"},
        {"eventID": "a5", "user_id": "0014111", "keyword": "conan", "action": "enter"},
        day=date(2022, 6, 2),
        parts=VALID_ONLY,
    )
    top = _top_keywords(engine, pa.concat_tables([day_one.valid, day_two.valid]))
    assert _rows(top) == [
        (date(2022, 6, 1), "0014111", "phim hàn", 2, 3),
        (date(2022, 6, 1), "14111", "conan", 1, 1),
    ]


# --- customer_search_stats -----------------------------------------------------------------------

MAY, JUNE, JULY, AUGUST = date(2022, 5, 1), date(2022, 6, 1), date(2022, 7, 1), date(2022, 8, 1)

CATEGORIES = _categories(
    ("phim hàn", "K Drama"),
    ("running man", "Reality Show"),
    ("bóng đá", "Sports"),
    ("conan", "Animation"),
    ("doraemon", "Animation"),
    ("thời sự", "News"),
    ("rap việt", "Music"),
    ("vtv1", "TV Channel"),
)


def test_the_four_tastes(engine):
    top = _top(
        # June (M-1)
        (JUNE, "changed", "phim hàn", 3, 5),
        (JUNE, "same", "bóng đá", 2, 2),
        (JUNE, "same-category", "conan", 4, 4),
        (JUNE, "churned", "running man", 1, 1),
        (JUNE, "007", "rap việt", 1, 2),
        # July (M)
        (JULY, "changed", "running man", 2, 2),
        (JULY, "same", "bóng đá", 5, 9),
        (JULY, "same-category", "doraemon", 1, 1),
        (JULY, "new", "thời sự", 6, 6),
        (JULY, "7", "rap việt", 1, 1),
    )
    stats = _search_stats(engine, top, CATEGORIES, JULY, JUNE)
    assert stats.column_names == STATS_COLUMNS
    assert stats.schema.field("month").type == pa.date32()
    assert _rows(stats) == [
        (JULY, "007", "rap việt", "Music", None, None, "Churned"),
        (JULY, "7", None, None, "rap việt", "Music", "New"),
        (JULY, "changed", "phim hàn", "K Drama", "running man", "Reality Show", "Changed"),
        (JULY, "churned", "running man", "Reality Show", None, None, "Churned"),
        (JULY, "new", None, None, "thời sự", "News", "New"),
        (JULY, "same", "bóng đá", "Sports", "bóng đá", "Sports", "Unchanged"),
        (JULY, "same-category", "conan", "Animation", "doraemon", "Animation", "Unchanged"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("prev", "cur", "expected"),
    [
        pytest.param("conan", "conan", ("conan", "Animation", "conan", "Animation", "Unchanged"), id="same-keyword"),
        pytest.param("conan", "doraemon", ("conan", "Animation", "doraemon", "Animation", "Unchanged"), id="same-category"),
        pytest.param("conan", "vtv1", ("conan", "Animation", "vtv1", "TV Channel", "Changed"), id="changed"),
        pytest.param("thời sự", "rap việt", ("thời sự", "News", "rap việt", "Music", "Changed"), id="changed-2"),
        pytest.param(None, "vtv1", (None, None, "vtv1", "TV Channel", "New"), id="new"),
        pytest.param("vtv1", None, ("vtv1", "TV Channel", None, None, "Churned"), id="churned"),
        pytest.param(None, "từ khoá lạ", (None, None, "từ khoá lạ", None, "New"), id="new-without-category"),
        pytest.param("từ khoá lạ", None, ("từ khoá lạ", None, None, None, "Churned"), id="churned-without-category"),
    ],
)  # fmt: skip
def test_one_user(engine, prev, cur, expected):
    rows = []
    if prev is not None:
        rows.append((JUNE, "u1", prev, 1, 1))
    if cur is not None:
        rows.append((JULY, "u1", cur, 1, 1))
    stats = _search_stats(engine, _top(*rows), CATEGORIES, JULY, JUNE)
    assert _rows(stats) == [(JULY, "u1", *expected)]


def test_other_months_are_ignored(engine):
    top = _top(
        (MAY, "old", "conan", 1, 1),
        (MAY, "u1", "vtv1", 9, 9),
        (JUNE, "u1", "conan", 1, 1),
        (JULY, "u1", "doraemon", 1, 1),
        (AUGUST, "u1", "thời sự", 1, 1),
        (AUGUST, "future", "thời sự", 1, 1),
    )
    stats = _search_stats(engine, top, CATEGORIES, JULY, JUNE)
    assert _rows(stats) == [
        (JULY, "u1", "conan", "Animation", "doraemon", "Animation", "Unchanged"),
    ]


def test_month_m_minus_one_only_user_is_churned_in_m_but_not_in_m_plus_one(engine):
    top = _top((MAY, "u1", "conan", 1, 1), (JUNE, "u2", "vtv1", 1, 1))
    assert _rows(_search_stats(engine, top, CATEGORIES, JUNE, MAY)) == [
        (JUNE, "u1", "conan", "Animation", None, None, "Churned"),
        (JUNE, "u2", None, None, "vtv1", "TV Channel", "New"),
    ]
    assert _rows(_search_stats(engine, top, CATEGORIES, JULY, JUNE)) == [
        (JULY, "u2", "vtv1", "TV Channel", None, None, "Churned"),
    ]


def test_january_compares_with_december(engine):
    december, january = date(2022, 12, 1), date(2023, 1, 1)
    top = _top(
        (december, "u1", "conan", 1, 1),
        (january, "u1", "bóng đá", 1, 1),
        (december, "u2", "vtv1", 1, 1),
    )
    stats = _search_stats(engine, top, CATEGORIES, january, december)
    assert _rows(stats) == [
        (january, "u1", "conan", "Animation", "bóng đá", "Sports", "Changed"),
        (january, "u2", "vtv1", "TV Channel", None, None, "Churned"),
    ]


def test_no_users_in_either_month(engine):
    stats = _search_stats(engine, _top((MAY, "u1", "conan", 1, 1)), CATEGORIES, JULY, JUNE)
    assert stats.num_rows == 0
    assert stats.column_names == STATS_COLUMNS


def test_stats_read_datasets(engine, tmp_path: Path):
    june, july, categories = (tmp_path / name for name in ("june", "july", "categories"))
    pq.write_table(_top((JUNE, "u1", "phim hàn", 2, 2)), f"{june}.parquet")
    pq.write_table(_top((JULY, "u1", "conan", 1, 1)), f"{july}.parquet")
    pq.write_table(CATEGORIES, f"{categories}.parquet")
    top = lake_files(tmp_path, MONTHLY_TOP_KEYWORD, "june.parquet", "july.parquet")
    lake_categories = lake_files(tmp_path, CATEGORIES.schema, "categories.parquet")
    stats = _search_stats(engine, top, lake_categories, JULY, JUNE)
    assert _rows(stats) == [
        (JULY, "u1", "phim hàn", "K Drama", "conan", "Animation", "Changed"),
    ]


def test_top_keyword_to_stats(engine):
    """Searches of two months → monthly_top_keyword → customer_search_stats."""
    top = monthly_top_keyword(
        _searches(
            (date(2022, 6, 2), "0014111", "phim hàn"),
            (date(2022, 6, 3), "0014111", "phim hàn"),
            (date(2022, 6, 3), "0014111", "conan"),
            (date(2022, 7, 2), "0014111", "doraemon"),
            (date(2022, 7, 5), "0014111", "conan"),
            (date(2022, 6, 9), "14111", "vtv1"),
            (date(2022, 7, 30), "u3", "rap việt"),
        )
    )
    # The top keywords are a query, and the source of the stats: the chain runs as one query.
    stats = engine.fetch(customer_search_stats(top, CATEGORIES, JULY, JUNE))
    assert _rows(stats) == [
        (JULY, "0014111", "phim hàn", "K Drama", "conan", "Animation", "Changed"),
        (JULY, "14111", "vtv1", "TV Channel", None, None, "Churned"),
        (JULY, "u3", None, None, "rap việt", "Music", "New"),
    ]
