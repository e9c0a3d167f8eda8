"""The clickstream rules in Python: how a timestamp is read, the hour folder an event lands in,
anonymous ids, the typed fields of an event, the engagement weights and the CRM rows.

Every expected value is worked out by hand: 1648818000 is 2022-04-01 13:00:00 UTC.
"""

import json
import math
from datetime import UTC, datetime

import pytest

from customer_analytics.defs.web import rules as web
from customer_analytics.defs.web.partitions import web_hourly
from customer_analytics.defs.web.rules import (
    anonymous_id,
    event_fields,
    event_time,
    landing_hour,
    parse_weights,
    text_value,
    timestamp_seconds,
)
from customer_analytics.defs.web.schemas import WEB_EVENT_FIELDS

ONE_PM = 1648818000  # 2022-04-01 13:00:00 UTC


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- timestamp_seconds / event_time -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds", "unit", "when"),
    [
        pytest.param(ONE_PM, 1648818000.0, "seconds", utc(2022, 4, 1, 13), id="seconds"),
        pytest.param(ONE_PM * 1000, 1648818000.0, "milliseconds", utc(2022, 4, 1, 13), id="milliseconds"),
        pytest.param(1648818000.5, 1648818000.5, "seconds", utc(2022, 4, 1, 13, 0, 0, 500000), id="float-seconds"),
        pytest.param(1648818000123.0, 1648818000.123, "milliseconds", utc(2022, 4, 1, 13, 0, 0, 123000), id="float-milliseconds"),
        # Just under the boundary is still seconds: the year 5138.
        pytest.param(99_999_999_999, 99_999_999_999.0, "seconds", utc(5138, 11, 16, 9, 46, 39), id="below-1e11-seconds"),
        # At the boundary it is milliseconds: 1e8 seconds, 1973.
        pytest.param(100_000_000_000, 100_000_000.0, "milliseconds", utc(1973, 3, 3, 9, 46, 40), id="at-1e11-milliseconds"),
        pytest.param(100_000_000_000.0, 100_000_000.0, "milliseconds", utc(1973, 3, 3, 9, 46, 40), id="at-1e11-float"),
        pytest.param(0, 0.0, "seconds", utc(1970, 1, 1), id="zero"),
        # The unit is read from the magnitude, a negative number included.
        pytest.param(-100_000_000_000, -100_000_000.0, "milliseconds", utc(1966, 10, 31, 14, 13, 20), id="negative-milliseconds"),
    ],
)  # fmt: skip
def test_readable_timestamps(value, seconds, unit, when):
    assert timestamp_seconds(value) == (seconds, unit)
    assert event_time(value) == when


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param("1648818000", id="text"),
        pytest.param("", id="empty-text"),
        pytest.param(math.nan, id="nan"),
        pytest.param(math.inf, id="inf"),
        pytest.param(-math.inf, id="minus-inf"),
        pytest.param([ONE_PM], id="list"),
        pytest.param({"s": ONE_PM}, id="object"),
    ],
)
def test_invalid_timestamps(value):
    assert timestamp_seconds(value) == (None, "invalid")
    assert event_time(value) is None


def test_absent_timestamp():
    assert timestamp_seconds(None) == (None, None)
    assert event_time(None) is None


def test_a_number_beyond_any_clock_has_a_unit_but_no_time():
    assert timestamp_seconds(1e20) == (1e17, "milliseconds")
    assert event_time(1e20) is None


# JSON integers have no size limit: one beyond any float is a time out of range, not a crash.
def test_an_integer_too_large_for_a_float_is_not_a_crash():
    huge = 10**400
    assert event_time(huge) is None
    assert event_fields({"timestamp": huge})["event_time"] is None
    assert landing_hour({"timestamp": huge}, ONE_PM) == utc(2022, 4, 1, 13)


# --- landing_hour -----------------------------------------------------------------------

SENT_13_58 = ONE_PM + 58 * 60  # 2022-04-01 13:58:00


@pytest.mark.parametrize(
    ("event", "hour"),
    [
        pytest.param({"timestamp": ONE_PM + 600}, utc(2022, 4, 1, 13), id="same-hour"),
        pytest.param({"timestamp": ONE_PM - 1}, utc(2022, 4, 1, 12), id="hour-before"),
        pytest.param({"timestamp": (ONE_PM - 3 * 3600) * 1000}, utc(2022, 4, 1, 10), id="milliseconds"),
        # At most five minutes after sent_at (14:03:00) is still its own hour.
        pytest.param({"timestamp": SENT_13_58 + 300}, utc(2022, 4, 1, 14), id="five-minutes-after-sent"),
        pytest.param({"timestamp": SENT_13_58 + 301}, utc(2022, 4, 1, 13), id="beyond-five-minutes"),
        # FIRST_HOUR is 2022-04-01 00:00 (1648771200): an event before it has no partition,
        # so it lands in the hour its batch was sent, as one before 2000 does.
        pytest.param({"timestamp": 1648771200}, utc(2022, 4, 1, 0), id="first-hour"),
        pytest.param({"timestamp": 1648771199}, utc(2022, 4, 1, 13), id="second-before-first-hour"),
        pytest.param({"timestamp": 1622505600}, utc(2022, 4, 1, 13), id="2021-06-01"),
        pytest.param({"timestamp": 946684800}, utc(2022, 4, 1, 13), id="year-2000"),
        pytest.param({"timestamp": 946684799}, utc(2022, 4, 1, 13), id="before-2000"),
        pytest.param({}, utc(2022, 4, 1, 13), id="missing"),
        pytest.param({"timestamp": None}, utc(2022, 4, 1, 13), id="null"),
        pytest.param({"timestamp": "2022-04-01T10:00:00"}, utc(2022, 4, 1, 13), id="text"),
        pytest.param({"timestamp": True}, utc(2022, 4, 1, 13), id="bool"),
        pytest.param({"timestamp": 1e20}, utc(2022, 4, 1, 13), id="beyond-any-clock"),
        pytest.param([ONE_PM], utc(2022, 4, 1, 13), id="not-an-object"),
        pytest.param(None, utc(2022, 4, 1, 13), id="null-event"),
    ],
)  # fmt: skip
def test_landing_hour(event, hour):
    assert landing_hour(event, SENT_13_58) == hour


JUNE_2021 = 1622505600  # 2021-06-01 00:00:00 UTC, before FIRST_HOUR


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"timestamp": JUNE_2021}, id="happened-when-sent"),
        pytest.param({}, id="missing"),
        # 2022-04-01 13:00 is more than five minutes after it was sent: out of range.
        pytest.param({"timestamp": ONE_PM}, id="after-sent"),
    ],
)
def test_a_batch_sent_before_the_first_hour_lands_in_the_first_hour(event):
    assert landing_hour(event, JUNE_2021 + 60) == utc(2022, 4, 1, 0)


# --- anonymous_id / text_value ----------------------------------------------------------


def test_anonymous_id_is_md5_of_the_session_id():
    # hashlib.md5(b"s-42").hexdigest()[:12], computed once.
    assert anonymous_id("s-42") == "anonymous-f80a3c8c62ab"
    assert anonymous_id("s-42") == anonymous_id("s-42")
    assert anonymous_id("s-43") != anonymous_id("s-42")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  home  ", "home"),
        ("\thome\n", "home"),
        ("a b", "a b"),
        ("", None),
        ("   ", None),
        (None, None),
        (3, None),
        (True, None),
        (["home"], None),
    ],
)
def test_text_value(value, expected):
    assert text_value(value) == expected


# --- event_fields -----------------------------------------------------------------------


def test_fields_of_a_non_object():
    assert event_fields(["é", 1]) == {"is_object": False, "is_unicode": True, "record": '["é", 1]'}
    assert event_fields("click") == {"is_object": False, "is_unicode": True, "record": '"click"'}
    assert event_fields(None) == {"is_object": False, "is_unicode": True, "record": "null"}
    # Keys sorted inside too, as an object's record.
    assert event_fields([{"b": 1, "a": 2}])["record"] == '[{"a": 2, "b": 1}]'


def test_fields_of_a_full_event():
    event = {
        "timestamp": ONE_PM * 1000,
        "session_id": " s-42 ",
        "user_id": "u1",
        "event_type": "click",
        "page": "/home",
        "device": "mobile",
        "browser": "Chrome",
    }
    assert event_fields(event) == {
        "is_object": True,
        "is_unicode": True,
        "session_id": "s-42",
        "user_id": "u1",
        "event_type": "click",
        "page": "/home",
        "device": "mobile",
        "browser": "Chrome",
        "anonymous_id": "anonymous-f80a3c8c62ab",
        "timestamp_unit": "milliseconds",
        "event_epoch": 1648818000.0,
        "event_time": datetime(2022, 4, 1, 13),
        "extra_fields": None,
        "record": (
            '{"browser": "Chrome", "device": "mobile", "event_type": "click", "page": "/home", '
            '"session_id": " s-42 ", "timestamp": 1648818000000, "user_id": "u1"}'
        ),
    }


def test_fields_of_an_event_with_extra_fields():
    event = {"zeta": 1, "session_id": "s-42", "alpha": None, "timestamp": ONE_PM, "référent": "x"}
    fields = event_fields(event)
    assert fields["extra_fields"] == "alpha,référent,zeta"
    # Sorted keys, text kept as it is (not escaped), the untrimmed values as sent.
    assert fields["record"] == (
        '{"alpha": null, "référent": "x", "session_id": "s-42", "timestamp": 1648818000, "zeta": 1}'
    )
    assert json.loads(fields["record"]) == event
    assert fields["event_type"] is None and fields["page"] is None


def test_fields_of_an_event_without_session_or_timestamp():
    fields = event_fields({"session_id": "  ", "timestamp": "soon", "user_id": 7})
    assert fields["session_id"] is None
    assert fields["anonymous_id"] is None
    assert fields["user_id"] is None
    assert (fields["timestamp_unit"], fields["event_epoch"], fields["event_time"]) == (
        "invalid",
        None,
        None,
    )
    missing = event_fields({"session_id": "s"})
    assert (missing["timestamp_unit"], missing["event_epoch"], missing["event_time"]) == (
        None,
        None,
        None,
    )


def test_fields_of_a_timestamp_beyond_any_clock():
    fields = event_fields({"session_id": "s", "timestamp": 1e20})
    assert (fields["timestamp_unit"], fields["event_epoch"], fields["event_time"]) == (
        "milliseconds",
        1e17,
        None,
    )


def test_fields_match_the_schema():
    names = set(web.event_fields({"session_id": "s"})) | {"batch", "position", "sent_epoch"}
    assert names == set(WEB_EVENT_FIELDS.names)


# json.loads reads "\ud800" as a lone surrogate: valid JSON text that no UTF-8, so no Arrow
# string, can hold.
def test_an_event_that_is_not_valid_unicode_is_escaped():
    event = json.loads(
        r'{"session_id": " s\udc00 ", "user_id": "u\ud800", "x\ud800": "é", "page": "/é", '
        r'"timestamp": 1648818000}'
    )
    assert event["user_id"] == "u\ud800"
    fields = event_fields(event)
    assert fields["is_unicode"] is False
    # Every character beyond ASCII escaped, sorted keys; it reads back as the event.
    assert fields["record"] == (
        r'{"page": "/\u00e9", "session_id": " s\udc00 ", "timestamp": 1648818000, '
        r'"user_id": "u\ud800", "x\ud800": "\u00e9"}'
    )
    assert json.loads(fields["record"]) == event
    # A surrogate is its escape as text (a backslash, u and four digits); valid text is kept.
    assert (fields["session_id"], fields["user_id"], fields["page"]) == (
        "s\\udc00",
        "u\\ud800",
        "/é",
    )
    assert fields["extra_fields"] == "x\\ud800"
    # hashlib.md5(b"s\\udc00").hexdigest()[:12], computed once.
    assert fields["anonymous_id"] == "anonymous-e131c8956b77"
    assert fields["event_epoch"] == 1648818000.0


def test_a_non_object_that_is_not_valid_unicode_is_escaped():
    assert event_fields(["\ud800", "é"]) == {
        "is_object": False,
        "is_unicode": False,
        "record": r'["\ud800", "\u00e9"]',
    }


def test_valid_unicode_beyond_the_basic_plane_is_kept():
    # An emoji is one code point (a surrogate pair in JSON's escapes): valid, kept as it is.
    fields = event_fields(json.loads(r'{"session_id": "s", "user_id": "\ud83d\ude00"}'))
    assert (fields["is_unicode"], fields["user_id"]) == (True, "😀")
    assert fields["record"] == '{"session_id": "s", "user_id": "😀"}'


def test_first_hour_is_where_the_hourly_partitions_start():
    assert utc(2022, 4, 1) == web.FIRST_HOUR
    assert web_hourly.start == web.FIRST_HOUR
    assert web_hourly.get_first_partition_key() == "2022-04-01-00:00"


def test_a_redelivery_is_quarantined_first_and_is_no_rejection():
    assert web.QUARANTINE_REASONS[0] == "redelivered"
    assert web.QUARANTINE_REASONS[1:] == web.REJECTIONS
    reasons = web.QUARANTINE_REASONS
    assert reasons.index("not_an_object") + 1 == reasons.index("invalid_unicode")
    assert reasons.index("timestamp_out_of_range") + 1 == reasons.index("before_first_partition")
    assert reasons.index("before_first_partition") < reasons.index("outside_partition_hour")


# --- parse_weights ----------------------------------------------------------------------


def test_default_weights():
    assert parse_weights("") == {
        "view": 1.0,
        "scroll": 1.0,
        "click": 2.0,
        "like": 3.0,
        "comment": 4.0,
    }
    assert parse_weights(" , ") == dict(web.DEFAULT_WEIGHTS)


def test_weights_override_the_named_types_only():
    assert parse_weights(" view = 0.5 , comment=10,") == {
        "view": 0.5,
        "scroll": 1.0,
        "click": 2.0,
        "like": 3.0,
        "comment": 10.0,
    }
    assert parse_weights("like=0")["like"] == 0.0


def test_parse_weights_leaves_the_defaults_alone():
    parse_weights("view=9")
    assert web.DEFAULT_WEIGHTS["view"] == 1.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("share=2", "'share' is not an event type", id="unknown-type"),
        pytest.param("View=2", "'View' is not an event type", id="case-matters"),
        pytest.param("view=1,view=2", "'view' is given twice", id="repeated"),
        pytest.param("click=-1", "click='-1': expected a number of at least 0", id="negative"),
        pytest.param("click=abc", "click='abc': expected a number", id="not-a-number"),
        pytest.param("click=", "click='': expected a number", id="empty"),
        pytest.param("click", "click='': expected a number", id="no-equals"),
        pytest.param("click=nan", "click='nan': expected a number of at least 0", id="nan"),
        pytest.param("click=inf", "click='inf': expected a number of at least 0", id="inf"),
    ],
)
def test_bad_weights(raw, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        parse_weights(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            "view=1e308,scroll=1e308",
            "view='1e308': expected a number of at least 0 and at most 1000",
            id="finite-but-huge",
        ),
        pytest.param(
            "comment=1000.5",
            "comment='1000.5': expected a number of at least 0 and at most 1000",
            id="just-above-the-bound",
        ),
    ],
)
def test_a_weight_above_max_weight_is_refused(raw, message):
    """1e308 is finite, but two such events make a session's score inf, which MySQL refuses."""
    with pytest.raises(ValueError, match="^" + message):
        parse_weights(raw)


def test_weights_up_to_max_weight_are_taken():
    assert web.MAX_WEIGHT == 1000.0
    assert parse_weights("comment=1000,like=999.5") == {
        "view": 1.0,
        "scroll": 1.0,
        "click": 2.0,
        "like": 999.5,
        "comment": 1000.0,
    }
