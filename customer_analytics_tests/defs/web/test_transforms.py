"""The clickstream rules on both engines (defs/web/rules.py, defs/web/transforms.py).

Covers `parse_web_hour` (every quarantine reason and their order, both timestamp units,
anonymous ids, "unknown" device and browser, duplicates across units and batches, extra
columns, lateness, the hour's edges), `web_sessions` (sessions across midnight and hours,
first and last event by time then delivery, users, interactions, engagement with default and
custom weights) and `customer_loyalty`. Every test takes the `engine` fixture and runs on
DuckDB and on Spark; each parses its hour once and fetches only what it asserts. The fixtures
are literal events and the expected values are worked out by hand: 1648818000 is
2022-04-01 13:00:00 UTC.
"""

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_analytics.defs.web import transforms as web
from customer_analytics.defs.web.rules import anonymous_id, event_fields, parse_weights
from customer_analytics.defs.web.schemas import (
    CRM_CUSTOMERS,
    CUSTOMER_LOYALTY,
    RAW_WEB_EVENTS,
    WEB_EVENT_FIELDS,
    WEB_SESSIONS,
)
from customer_analytics.engines.base import Engine

# createDataFrame checks the installed pandas even when given Arrow tables.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

HOUR = datetime(2022, 4, 1, 13)
T = 1648818000  # 2022-04-01 13:00:00 UTC, the start of HOUR
SENT = T + 50 * 60  # 13:50, when the batches below are sent unless they say otherwise
DAY = date(2022, 4, 1)
D0 = 1648771200  # 2022-04-01 00:00:00 UTC

ABSENT = object()  # a field the event does not have at all

# An event that passes every rule in HOUR; `_event` overrides or removes its fields.
DEFAULTS = {
    "session_id": "s1",
    "user_id": "u1",
    "event_type": "view",
    "page": "/home",
    "device": "mobile",
    "browser": "Chrome",
    "timestamp": T + 60,
}


def _event(**overrides: object) -> dict:
    merged = {**DEFAULTS, **overrides}
    return {name: value for name, value in merged.items() if value is not ABSENT}


def _hour(*batches: tuple[int, float, Sequence[object]]) -> pa.Table:
    """The events of an hour folder from (batch, sent_epoch, events), numbered as the poller
    numbers them; the table keeps the order the batches are given in."""
    rows = [
        {"batch": batch, "position": position, "sent_epoch": float(sent), **event_fields(event)}
        for batch, sent, events in batches
        for position, event in enumerate(events)
    ]
    return pa.Table.from_pylist(rows, schema=WEB_EVENT_FIELDS)


def _parse(
    engine: Engine,
    events: pa.Table,
    hour: datetime = HOUR,
    parts: Sequence[str] = ("valid", "quarantine", "extra_columns"),
) -> dict[str, pa.Table]:
    with web.parse_web_hour(engine, events, hour) as parsed:
        return {part: engine.fetch(getattr(parsed, part)) for part in parts}


def _columns(table: pa.Table, *names: str) -> list[tuple]:
    return list(zip(*(table[name].to_pylist() for name in names), strict=True))


def _naive(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


# --- parse_web_hour ---------------------------------------------------------------------


def test_every_quarantine_reason(engine):
    events = [
        _event(session_id="ok"),
        ["not", "an", "object"],
        _event(session_id="bad-text", user_id="u\ud800"),  # a lone surrogate
        _event(session_id="  "),
        _event(session_id="no-type", event_type=ABSENT),
        _event(session_id="no-page", page=5),
        _event(session_id="long-user", user_id="u" * 256),
        _event(session_id="no-time", timestamp=ABSENT),
        _event(session_id="null-time", timestamp=None),
        _event(session_id="text-time", timestamp="13:01"),
        _event(session_id="bool-time", timestamp=True),
        _event(session_id="beyond-any-clock", timestamp=1e20),
        _event(session_id="before-2000", timestamp=946684799),
        _event(session_id="too-far-ahead", timestamp=SENT + 301),
        _event(session_id="just-ahead", timestamp=SENT + 300),
        _event(session_id="before-partitions", timestamp=D0 - 1),
        _event(session_id="share", event_type="share"),
        _event(session_id="hour-before", timestamp=T - 1),
        # The key of position 0 (fields are trimmed) in another record: a duplicate.
        _event(session_id=" ok "),
        # Position 0 again, the same record: a redelivery.
        _event(session_id="ok"),
    ]
    parsed = _parse(engine, _hour((7, SENT, events)), parts=("valid", "quarantine"))
    assert _columns(parsed["quarantine"], "batch", "position", "reason") == [
        (7, 1, "not_an_object"),
        (7, 2, "invalid_unicode"),
        (7, 3, "missing_session_id"),
        (7, 4, "missing_event_type"),
        (7, 5, "missing_page"),
        (7, 6, "user_id_too_long"),
        (7, 7, "missing_timestamp"),
        (7, 8, "missing_timestamp"),
        (7, 9, "invalid_timestamp"),
        (7, 10, "invalid_timestamp"),
        (7, 11, "timestamp_out_of_range"),
        (7, 12, "timestamp_out_of_range"),
        (7, 13, "timestamp_out_of_range"),
        (7, 15, "before_first_partition"),
        (7, 16, "unknown_event_type"),
        (7, 17, "outside_partition_hour"),
        (7, 18, "duplicate_event"),
        (7, 19, "redelivered"),
    ]
    quarantine = parsed["quarantine"]
    assert quarantine.schema.names == ["hour_start", "batch", "position", "reason", "record"]
    assert set(quarantine["hour_start"].to_pylist()) == {HOUR}
    assert quarantine["record"].to_pylist()[:3] == [
        '["not", "an", "object"]',
        '{"browser": "Chrome", "device": "mobile", "event_type": "view", "page": "/home", '
        '"session_id": "bad-text", "timestamp": 1648818060, "user_id": "u\\ud800"}',
        json.dumps(_event(session_id="  "), sort_keys=True),
    ]
    assert _columns(parsed["valid"], "session_id", "position") == [("ok", 0), ("just-ahead", 14)]


def test_the_first_failing_reason_wins(engine):
    events = [
        ["again"],
        # A redelivery, whatever it holds: its first delivery is judged.
        ["again"],
        ["\ud800"],
        _event(session_id=ABSENT, user_id="\udfff"),
        _event(session_id=ABSENT, event_type=ABSENT),
        _event(event_type=None, page=None),
        _event(page="", event_type="share", user_id="u" * 256),
        _event(timestamp=ABSENT, event_type="share", user_id="u" * 256),
        _event(timestamp=ABSENT, event_type="share"),
        _event(timestamp="now", event_type="share"),
        _event(timestamp=946684799, event_type="share"),
        _event(timestamp=D0 - 1, event_type="share"),
        _event(event_type="share", timestamp=T + 3600),
        _event(session_id="first", timestamp=T - 60),
        # The same event again, outside the hour: a redelivery, not a second rejection.
        _event(session_id="first", timestamp=T - 60),
        _event(session_id="twice"),
        _event(session_id="twice", event_type="share"),
    ]
    # Sent at the end of the hour, so that only the hour rule stops T + 3600.
    parsed = _parse(engine, _hour((1, T + 3600, events)), parts=("quarantine",))
    assert parsed["quarantine"]["reason"].to_pylist() == [
        "not_an_object",
        "redelivered",
        "not_an_object",
        "invalid_unicode",
        "missing_session_id",
        "missing_event_type",
        "missing_page",
        "user_id_too_long",
        "missing_timestamp",
        "invalid_timestamp",
        "timestamp_out_of_range",
        "before_first_partition",
        "unknown_event_type",
        "outside_partition_hour",
        "redelivered",
        # position 15 is valid; 16 differs in its type, so it is not a duplicate.
        "unknown_event_type",
    ]


def test_valid_events(engine):
    events = [
        _event(session_id=" in-seconds ", timestamp=T + 60),
        _event(session_id="in-milliseconds", timestamp=(T + 60) * 1000),
        _event(session_id="fraction", timestamp=T * 1000 + 1500),
        _event(session_id="s-42", user_id=ABSENT, timestamp=T + 120),
        _event(session_id="blank-user", user_id="  ", timestamp=T + 180),
        _event(session_id="no-device", device=ABSENT, browser="", timestamp=T + 240),
        _event(session_id="odd-device", device=3, browser=None, timestamp=T + 240),
    ]
    valid = _parse(engine, _hour((3, SENT, events)), parts=("valid",))["valid"]
    assert valid.schema == RAW_WEB_EVENTS
    assert _columns(
        valid,
        "event_time",
        "event_epoch",
        "session_id",
        "user_id",
        "is_anonymous",
        "device",
        "browser",
        "timestamp_unit",
        "is_late",
        "batch",
        "position",
    ) == [
        (datetime(2022, 4, 1, 13, 0, 1, 500000), T + 1.5, "fraction", "u1", False, "mobile", "Chrome", "milliseconds", False, 3, 2),
        (datetime(2022, 4, 1, 13, 1), T + 60.0, "in-seconds", "u1", False, "mobile", "Chrome", "seconds", False, 3, 0),
        (datetime(2022, 4, 1, 13, 1), T + 60.0, "in-milliseconds", "u1", False, "mobile", "Chrome", "milliseconds", False, 3, 1),
        (datetime(2022, 4, 1, 13, 2), T + 120.0, "s-42", "anonymous-f80a3c8c62ab", True, "mobile", "Chrome", "seconds", False, 3, 3),
        (datetime(2022, 4, 1, 13, 3), T + 180.0, "blank-user", anonymous_id("blank-user"), True, "mobile", "Chrome", "seconds", False, 3, 4),
        (datetime(2022, 4, 1, 13, 4), T + 240.0, "no-device", "u1", False, "unknown", "unknown", "seconds", False, 3, 5),
        (datetime(2022, 4, 1, 13, 4), T + 240.0, "odd-device", "u1", False, "unknown", "unknown", "seconds", False, 3, 6),
    ]  # fmt: skip
    assert anonymous_id("s-42") == "anonymous-f80a3c8c62ab"


def test_duplicates(engine):
    """The first delivery by batch then position is kept, whatever the table's order and
    whichever unit each delivery used; fields are compared trimmed. A later delivery of the same
    record is a redelivery, of another record with the same key a duplicate."""
    event = _event(session_id="s1", timestamp=T + 60)
    in_ms = _event(session_id="s1", timestamp=(T + 60) * 1000)
    anonymous = _event(session_id="anon", user_id=ABSENT, timestamp=T + 90)
    table = _hour(
        (2, SENT + 60, [event, anonymous]),
        (1, SENT, [_event(session_id="other"), in_ms, event]),
        (1, SENT, []),
        (3, SENT + 120, [_event(session_id=" s1 ", timestamp=T + 60), _event(device="tablet")]),
        (0, SENT - 60, [_event(session_id="early"), anonymous]),
    )
    parsed = _parse(engine, table, parts=("valid", "quarantine"))
    assert _columns(parsed["valid"], "session_id", "device", "timestamp_unit", "batch", "position") == [
        ("early", "mobile", "seconds", 0, 0),
        ("other", "mobile", "seconds", 1, 0),
        ("s1", "mobile", "milliseconds", 1, 1),
        ("s1", "tablet", "seconds", 3, 1),
        ("anon", "mobile", "seconds", 0, 1),
    ]  # fmt: skip
    assert _columns(parsed["quarantine"], "batch", "position", "reason") == [
        (1, 2, "duplicate_event"),  # in_ms (1, 1) in seconds
        (2, 0, "redelivered"),  # (1, 2) again
        (2, 1, "redelivered"),  # (0, 1) again
        (3, 0, "duplicate_event"),  # in_ms untrimmed, in seconds
    ]


def test_extra_columns_of_valid_and_quarantined_events(engine):
    kept = _event(session_id="kept", zeta=1, alpha={"a": 1})
    quarantined = _event(session_id="quarantined", event_type="share", référent="x")
    table = _hour((4, SENT, [_event(session_id="plain"), kept, quarantined, ["x"]]))
    parsed = _parse(engine, table, parts=("extra_columns", "valid"))
    extra = parsed["extra_columns"]
    assert extra.schema.names == [
        "hour_start",
        "batch",
        "position",
        "session_id",
        "extra_fields",
        "record",
    ]
    assert extra.to_pylist() == [
        {
            "hour_start": HOUR,
            "batch": 4,
            "position": 1,
            "session_id": "kept",
            "extra_fields": "alpha,zeta",
            "record": json.dumps(kept, sort_keys=True, ensure_ascii=False),
        },
        {
            "hour_start": HOUR,
            "batch": 4,
            "position": 2,
            "session_id": "quarantined",
            "extra_fields": "référent",
            "record": json.dumps(quarantined, sort_keys=True, ensure_ascii=False),
        },
    ]
    assert parsed["valid"]["session_id"].to_pylist() == ["plain", "kept"]


def test_is_late_after_exactly_an_hour(engine):
    happened = T + 10
    table = _hour(
        (1, happened + 3599, [_event(session_id="a", timestamp=happened)]),
        (2, happened + 3600, [_event(session_id="b", timestamp=happened)]),
        (3, happened + 3601, [_event(session_id="c", timestamp=happened)]),
        (4, happened + 3601, [_event(session_id="d", timestamp=happened * 1000)]),
    )
    valid = _parse(engine, table, parts=("valid",))["valid"]
    assert _columns(valid, "session_id", "is_late") == [
        ("a", False),
        ("b", False),
        ("c", True),
        ("d", True),
    ]


def test_the_hours_edges(engine):
    table = _hour(
        (
            1,
            T + 3600,
            [
                _event(session_id="before-start", timestamp=T * 1000 - 1),
                _event(session_id="start", timestamp=T),
                _event(session_id="last-ms", timestamp=T * 1000 + 3_599_999),
                _event(session_id="end", timestamp=T + 3600),
            ],
        )
    )
    parsed = _parse(engine, table, parts=("valid", "quarantine"))
    assert _columns(parsed["valid"], "session_id", "event_time") == [
        ("start", datetime(2022, 4, 1, 13)),
        ("last-ms", datetime(2022, 4, 1, 13, 59, 59, 999000)),
    ]
    assert _columns(parsed["quarantine"], "position", "reason") == [
        (0, "outside_partition_hour"),
        (3, "outside_partition_hour"),
    ]


def test_a_batch_served_again_is_redelivered(engine):
    """An API whose cursor went back serves batch 1's events again in batch 2: each copy is a
    redelivery, the bad event's copy too; the key of an event in another record is a duplicate."""
    first = [
        _event(session_id="a"),
        _event(session_id="b", page=ABSENT),
        _event(session_id="c", timestamp=T + 120),
    ]
    again = [*first, _event(session_id=" a ")]
    table = _hour((1, SENT, first), (2, SENT + 600, again))
    parsed = _parse(engine, table, parts=("valid", "quarantine"))
    assert _columns(parsed["valid"], "session_id", "batch", "position") == [
        ("a", 1, 0),
        ("c", 1, 2),
    ]
    quarantine = parsed["quarantine"]
    assert _columns(quarantine, "batch", "position", "reason") == [
        (1, 1, "missing_page"),
        (2, 0, "redelivered"),
        (2, 1, "redelivered"),
        (2, 2, "redelivered"),
        (2, 3, "duplicate_event"),
    ]
    assert quarantine["record"].to_pylist()[1] == (
        '{"browser": "Chrome", "device": "mobile", "event_type": "view", "page": "/home", '
        '"session_id": "a", "timestamp": 1648818060, "user_id": "u1"}'
    )


def test_a_quarantined_event_makes_no_valid_one_its_duplicate(engine):
    """Duplicates are sought among the events that pass every other rule."""
    ahead = SENT + 400  # 13:56:40: 400 s after batch 1 was sent, 100 s after batch 2
    table = _hour(
        (
            1,
            SENT,
            [
                _event(session_id="s", timestamp=ahead),
                # Its user_id is kept as the surrogate's escape: the text of the next one.
                _event(session_id="u", user_id="u\ud800"),
            ],
        ),
        (2, SENT + 300, [_event(session_id=" s ", timestamp=ahead), _event(session_id="u", user_id="u\\ud800")]),
    )  # fmt: skip
    parsed = _parse(engine, table, parts=("valid", "quarantine"))
    assert _columns(parsed["valid"], "session_id", "user_id", "batch", "position") == [
        ("u", "u\\ud800", 2, 1),
        ("s", "u1", 2, 0),
    ]
    assert _columns(parsed["quarantine"], "batch", "position", "reason") == [
        (1, 0, "timestamp_out_of_range"),
        (1, 1, "invalid_unicode"),
    ]


def test_text_that_is_not_unicode_is_quarantined_whole_and_escaped(engine, tmp_path):
    # As json.loads reads it from a batch file: lone surrogates in a value and in a field name.
    event = json.loads(
        r'{"session_id": "s\ud800", "user_id": "u1", "event_type": "view", "page": "/é", '
        r'"timestamp": 1648818060, "k\udc00": 1}'
    )
    table = _hour((5, SENT, [event, ["\udbff"], _event()]))
    parsed = _parse(engine, table)
    record = (
        r'{"event_type": "view", "k\udc00": 1, "page": "/\u00e9", "session_id": "s\ud800", '
        r'"timestamp": 1648818060, "user_id": "u1"}'
    )
    assert _columns(parsed["valid"], "session_id", "position") == [("s1", 2)]
    quarantine = parsed["quarantine"]
    assert _columns(quarantine, "position", "reason", "record") == [
        (0, "invalid_unicode", record),
        (1, "not_an_object", r'["\udbff"]'),
    ]
    assert json.loads(quarantine["record"][0].as_py()) == event  # nothing is lost
    assert _columns(
        parsed["extra_columns"], "position", "session_id", "extra_fields", "record"
    ) == [
        (0, "s\\ud800", "k\\udc00", record),
    ]
    for part, rows in parsed.items():  # Parquet holds every part
        pq.write_table(rows, tmp_path / f"{part}.parquet")
        assert pq.read_table(tmp_path / f"{part}.parquet").equals(rows)


def test_a_user_id_longer_than_the_warehouse_column(engine):
    """At most 255 characters once trimmed, counted in code points as SQL's length and MySQL's
    VARCHAR count them (not bytes, nor letters)."""
    events = [
        _event(session_id="emoji-255", user_id="😀" * 255),  # 1,020 bytes in UTF-8
        _event(session_id="emoji-256", user_id="😀" * 256),
        _event(session_id="trimmed-255", user_id=" " + "u" * 255 + " "),
        _event(session_id="accents-256", user_id="e\u0301" * 128),  # 128 letters, 256 points
    ]
    parsed = _parse(engine, _hour((1, SENT, events)), parts=("valid", "quarantine"))
    assert _columns(parsed["valid"], "session_id", "user_id") == [
        ("emoji-255", "😀" * 255),
        ("trimmed-255", "u" * 255),
    ]
    assert _columns(parsed["quarantine"], "position", "reason") == [
        (1, "user_id_too_long"),
        (3, "user_id_too_long"),
    ]


def test_an_event_before_the_first_partition(engine):
    """The poller lands such an event in the hour its batch was sent, or in the first hour
    (2022-04-01 00:00, D0) when that is before it too: here, a batch sent at 00:10."""
    events = [
        _event(session_id="first-second", timestamp=D0),
        _event(session_id="second-before", timestamp=D0 - 1),
        _event(session_id="in-milliseconds", timestamp=(D0 - 1) * 1000),
        _event(session_id="june-2021", timestamp=1622505600),
        _event(session_id="year-2000", timestamp=946684800),
        _event(session_id="before-2000", timestamp=946684799),
    ]
    table = _hour((1, D0 + 600, events))
    parsed = _parse(engine, table, datetime(2022, 4, 1, 0), parts=("valid", "quarantine"))
    assert _columns(parsed["valid"], "session_id", "event_time") == [
        ("first-second", datetime(2022, 4, 1, 0)),
    ]
    assert _columns(parsed["quarantine"], "position", "reason") == [
        (1, "before_first_partition"),
        (2, "before_first_partition"),
        (3, "before_first_partition"),
        (4, "before_first_partition"),
        (5, "timestamp_out_of_range"),
    ]


# --- web_sessions -----------------------------------------------------------------------


def _raw(
    session: str,
    event_type: str,
    page: str,
    epoch: float,
    batch: int = 1,
    position: int = 0,
    user: str | None = "u1",
    device: str = "mobile",
    browser: str = "Chrome",
) -> dict:
    """One valid event as raw_web_events stores it."""
    return {
        "event_time": _naive(epoch),
        "event_epoch": float(epoch),
        "session_id": session,
        "user_id": user or anonymous_id(session),
        "is_anonymous": user is None,
        "event_type": event_type,
        "page": page,
        "device": device,
        "browser": browser,
        "timestamp_unit": "seconds",
        "is_late": False,
        "batch": batch,
        "position": position,
    }


def _at_day(hours: int, minutes: int = 0, day_offset: int = 0) -> int:
    return D0 + day_offset * 86400 + hours * 3600 + minutes * 60


# The events of 2022-03-31 to 2022-04-02, in a delivery order that is not the time order.
RAW = pa.Table.from_pylist(
    [
        # Started the day before and went on past midnight: the day before's session.
        _raw("early", "view", "/home", _at_day(23, 50, -1)),
        _raw("early", "click", "/home", _at_day(0, 10)),
        # Started late on the day and went on into the next: the day's, whole.
        _raw("late", "comment", "/home", _at_day(0, 10, 1), batch=9),
        _raw("late", "view", "/home", _at_day(23, 50), batch=8),
        # Across an hour boundary.
        _raw("hours", "view", "/a", _at_day(13, 55)),
        _raw("hours", "scroll", "/b", _at_day(14, 5)),
        # Delivered first but the last by time; the first by time is the one in the middle.
        _raw("order", "like", "/z", _at_day(10, 30), batch=1, position=0),
        _raw("order", "view", "/a", _at_day(10, 10), 1, 1, device="tablet", browser="Safari"),
        _raw("order", "scroll", "/a", _at_day(10, 20), batch=2, position=0),
        # Three at the same time: batch then position decide.
        _raw("tie", "click", "/x", _at_day(9), batch=2, position=0),
        _raw("tie", "like", "/x", _at_day(9), batch=1, position=7),
        _raw("tie", "comment", "/x", _at_day(9), 1, 5, device="desktop", browser="Firefox"),
        # No event names a user.
        _raw("anon", "click", "/b", _at_day(11, 1), user=None),
        _raw("anon", "view", "/a", _at_day(11), user=None),
        # The first named user by time, not the smallest, not the anonymous id.
        _raw("named", "like", "/p", _at_day(8, 10), user="u1"),
        _raw("named", "view", "/p", _at_day(8), user=None),
        _raw("named", "click", "/p", _at_day(8, 5), user="u9"),
    ],
    schema=RAW_WEB_EVENTS,
)

SESSION_COLUMNS = [
    "date",
    "session_id",
    "user_id",
    "is_anonymous",
    "session_start",
    "session_end",
    "duration_seconds",
    "events",
    "unique_pages",
    "first_event",
    "last_event",
    "device",
    "browser",
    "interactions",
    "engagement_score",
]


def test_sessions_of_a_day(engine):
    sessions = engine.fetch(web.web_sessions(RAW, DAY, parse_weights("")))
    assert sessions.schema.names == SESSION_COLUMNS
    assert sessions.schema.field("date").type == pa.date32()
    assert [tuple(row.values()) for row in sessions.to_pylist()] == [
        (DAY, "named", "u9", False, datetime(2022, 4, 1, 8), datetime(2022, 4, 1, 8, 10), 600.0, 3, 1, "view", "like", "mobile", "Chrome", 2, 6.0),
        (DAY, "tie", "u1", False, datetime(2022, 4, 1, 9), datetime(2022, 4, 1, 9), 0.0, 3, 1, "comment", "click", "desktop", "Firefox", 3, 9.0),
        (DAY, "order", "u1", False, datetime(2022, 4, 1, 10, 10), datetime(2022, 4, 1, 10, 30), 1200.0, 3, 2, "view", "like", "tablet", "Safari", 1, 5.0),
        (DAY, "anon", anonymous_id("anon"), True, datetime(2022, 4, 1, 11), datetime(2022, 4, 1, 11, 1), 60.0, 2, 2, "view", "click", "mobile", "Chrome", 1, 3.0),
        (DAY, "hours", "u1", False, datetime(2022, 4, 1, 13, 55), datetime(2022, 4, 1, 14, 5), 600.0, 2, 2, "view", "scroll", "mobile", "Chrome", 0, 2.0),
        (DAY, "late", "u1", False, datetime(2022, 4, 1, 23, 50), datetime(2022, 4, 2, 0, 10), 1200.0, 2, 1, "view", "comment", "mobile", "Chrome", 1, 5.0),
    ]  # fmt: skip


def test_sessions_with_custom_weights(engine):
    weights = parse_weights("view=0.5,click=10")
    sessions = engine.fetch(web.web_sessions(RAW, DAY, weights))
    assert _columns(sessions, "session_id", "engagement_score") == [
        ("named", 13.5),  # 0.5 + 10 + 3
        ("tie", 17.0),  # 10 + 4 + 3
        ("order", 4.5),  # 3 + 0.5 + 1
        ("anon", 10.5),  # 0.5 + 10
        ("hours", 1.5),  # 0.5 + 1
        ("late", 4.5),  # 0.5 + 4
    ]


def test_a_type_without_a_weight_scores_zero(engine):
    sessions = engine.fetch(web.web_sessions(RAW, DAY, {"like": 3.0}))
    assert _columns(sessions, "session_id", "engagement_score")[:3] == [
        ("named", 3.0),
        ("tie", 3.0),
        ("order", 3.0),
    ]


def test_sessions_across_midnight_belong_to_the_day_they_started(engine):
    weights = parse_weights("")
    before = engine.fetch(web.web_sessions(RAW, date(2022, 3, 31), weights))
    after = engine.fetch(web.web_sessions(RAW, date(2022, 4, 2), weights))
    assert _columns(before, "date", "session_id", "duration_seconds", "events", "last_event") == [
        (date(2022, 3, 31), "early", 1200.0, 2, "click"),
    ]
    assert after.num_rows == 0
    assert after.schema.names == SESSION_COLUMNS


def test_parsed_hours_to_sessions(engine):
    """Two hours through parse_web_hour, then the day's sessions from their valid events."""
    first = _hour(
        (1, T, [_event(session_id="s", user_id=ABSENT, timestamp=T - 600)]),
        (
            2,
            T + 600,
            [
                _event(
                    session_id="s", user_id=ABSENT, event_type="click", page="/b", timestamp=T - 300
                )
            ],
        ),
    )
    second = _hour((3, T + 900, [_event(session_id="s", user_id="u7", event_type="like")]))
    with (
        web.parse_web_hour(engine, first, datetime(2022, 4, 1, 12)) as twelve,
        web.parse_web_hour(engine, second, HOUR) as thirteen,
    ):
        raw = pa.concat_tables([engine.fetch(twelve.valid), engine.fetch(thirteen.valid)])
    sessions = engine.fetch(web.web_sessions(raw, DAY, parse_weights("")))
    assert [tuple(row.values()) for row in sessions.to_pylist()] == [
        (DAY, "s", "u7", False, datetime(2022, 4, 1, 12, 50), datetime(2022, 4, 1, 13, 1), 660.0, 3, 2, "view", "like", "mobile", "Chrome", 2, 6.0),
    ]  # fmt: skip


# --- customer_loyalty -------------------------------------------------------------------


def _session(
    session: str, user: str, events: int, interactions: int, score: float, anonymous=False
) -> dict:
    start = datetime(2022, 4, 3, 10)
    return {
        "date": date(2022, 4, 3),
        "session_id": session,
        "user_id": user,
        "is_anonymous": anonymous,
        "session_start": start,
        "session_end": start,
        "duration_seconds": 0.0,
        "events": events,
        "unique_pages": 1,
        "first_event": "view",
        "last_event": "view",
        "device": "mobile",
        "browser": "Chrome",
        "interactions": interactions,
        "engagement_score": score,
    }


def test_customer_loyalty(engine):
    sessions = pa.Table.from_pylist(
        [
            _session("s1", "u1", events=5, interactions=2, score=9.0),
            _session("s2", "u2", events=4, interactions=1, score=5.0),
            _session("s3", "u1", events=3, interactions=1, score=4.0),
            _session("s4", anonymous_id("s4"), 6, 6, 20.0, anonymous=True),
        ],
        schema=WEB_SESSIONS,
    )
    crm = pa.Table.from_pylist(
        [
            {"customer_id": "u1", "contract": "HNH579912", "loyalty_tier": "Gold", "rating": 4},
            {"customer_id": "u3", "contract": "SGH000001", "loyalty_tier": "Bronze", "rating": 1},
        ],
        schema=CRM_CUSTOMERS,
    )
    loyalty = engine.fetch(web.customer_loyalty(sessions, crm, DAY))
    assert loyalty.schema.names == CUSTOMER_LOYALTY.names
    assert loyalty.to_pylist() == [
        {
            "month": DAY,
            "customer_id": "u1",
            "contract": "HNH579912",
            "loyalty_tier": "Gold",
            "rating": 4,
            "sessions": 2,
            "events": 8,
            "engagement_score": 13.0,
            "engagement_per_session": 6.5,
            "loyalty_interactions": 3,
            "loyalty_rate_pct": 37.5,  # 3 of 8 events
        },
        {
            "month": DAY,
            "customer_id": "u2",
            "contract": None,
            "loyalty_tier": None,
            "rating": None,
            "sessions": 1,
            "events": 4,
            "engagement_score": 5.0,
            "engagement_per_session": 5.0,
            "loyalty_interactions": 1,
            "loyalty_rate_pct": 25.0,
        },
    ]
