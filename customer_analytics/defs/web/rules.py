"""The rules of the app and web clickstream (docs/web.md): what an event must hold, how its
timestamp is read, the quarantine reasons in the order they are tested, and the engagement
weights.

An event is read once, in Python, into typed columns (`event_fields`); the reasons are SQL
conditions over those columns, the same on every engine."""

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.rules.identifiers import MAX_CONTRACT_LENGTH, MAX_USER_ID_LENGTH
from customer_analytics.rules.sql import literal, literals

# The fields an event is expected to hold; any other is an extra field (`web_extra_columns`).
TEXT_FIELDS = ("session_id", "user_id", "event_type", "page", "device", "browser")
KNOWN_FIELDS = (*TEXT_FIELDS, "timestamp")
# Absent, null, empty or not text: the event is quarantined. `user_id` is not among them: a
# missing one is replaced by an anonymous id; `device` and `browser` become "unknown".
REQUIRED_TEXT = ("session_id", "event_type", "page")
UNKNOWN = "unknown"

EVENT_TYPES = ("view", "scroll", "click", "like", "comment")
# Points an event adds to its session's engagement score (WEB_EVENT_WEIGHTS overrides them).
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "view": 1.0,
    "scroll": 1.0,
    "click": 2.0,
    "like": 3.0,
    "comment": 4.0,
}
# The most points one event may add: a session's score, a sum over its events, stays finite and,
# for whole weights, exact in a DOUBLE (below 2**53 for up to 9 * 10**12 events).
MAX_WEIGHT = 1000.0
# The events that count as loyalty interactions: the customer acts, not only looks.
INTERACTIONS = ("click", "like", "comment")

# A number at or above this is milliseconds (the year 5138 in seconds; 1973 in milliseconds).
MILLISECONDS_FROM = 100_000_000_000
# Events before this are a clock that was never set.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# The first hour of the clickstream's partitions (`web_hourly`): it begins with the viewing log,
# so that its customers meet their viewing profiles. An event before it has no partition.
FIRST_HOUR = datetime(2022, 4, 1, tzinfo=UTC)
# An event may be stamped at most this far after the batch that delivered it was sent (clock
# skew); beyond, its time is wrong.
MAX_FUTURE_SECONDS = 5 * 60
MAX_FUTURE = timedelta(seconds=MAX_FUTURE_SECONDS)
# An event delivered more than this after it happened is late.
LATE_AFTER_SECONDS = 60 * 60

ANONYMOUS_PREFIX = "anonymous-"

LOYALTY_TIERS = ("Bronze", "Silver", "Gold", "Platinum")
RATINGS = (1, 2, 3, 4, 5)
# The longest customer_id and contract of the CRM extract, in characters (code points, as SQL's
# length and MySQL's VARCHAR count them): the widths of their warehouse columns, those of the
# events' user_id and of the viewing log's Contract. A longer value would fail the load on MySQL
# and not on DuckDB, so the CRM's check refuses it on both. A tier is one of LOYALTY_TIERS,
# far shorter than its column.
CRM_MAX_LENGTHS = {"customer_id": MAX_USER_ID_LENGTH, "contract": MAX_CONTRACT_LENGTH}
# The rules of a CRM row and what each refuses; a row may fail several.
CRM_RULES = {
    "missing_customer_id": "no customer_id",
    "customer_id_too_long": f"a customer_id of more than {MAX_USER_ID_LENGTH} characters",
    "duplicate_customer_id": "the customer_id of an earlier row",
    "missing_contract": "no contract",
    "contract_too_long": f"a contract of more than {MAX_CONTRACT_LENGTH} characters",
    "invalid_loyalty_tier": f"a loyalty_tier other than {', '.join(LOYALTY_TIERS)}",
    "invalid_rating": f"a rating other than a whole number from {RATINGS[0]} to {RATINGS[-1]}",
}

# The same record delivered again (an API that serves events anew, its cursor gone back): kept
# in the quarantine so that nothing is dropped unseen, but not a rejection, whatever the event
# holds: its first delivery is judged, and a redelivery counts toward no share.
REDELIVERED = "redelivered"
# Another event with the same DUPLICATE_KEY came earlier, and it is no redelivery.
DUPLICATE = "duplicate_event"
QUARANTINE_REASONS = (
    REDELIVERED,
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
    DUPLICATE,
)
REJECTIONS = tuple(reason for reason in QUARANTINE_REASONS if reason != REDELIVERED)
REQUIRED_REASONS = ("not_an_object", "missing_session_id", "missing_event_type", "missing_page")
TIMESTAMP_REASONS = (
    "missing_timestamp",
    "invalid_timestamp",
    "timestamp_out_of_range",
    "before_first_partition",
)


def timestamp_seconds(value: object) -> tuple[float | None, str | None]:
    """(epoch seconds, unit read) of an event's `timestamp`; (None, None) when it is absent or
    null, (None, "invalid") when it is not a finite number (booleans and text included)."""
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, "invalid"
    if isinstance(value, float) and not math.isfinite(value):
        return None, "invalid"
    unit = "milliseconds" if abs(value) >= MILLISECONDS_FROM else "seconds"
    try:
        return (value / 1000 if unit == "milliseconds" else float(value)), unit
    except OverflowError:  # a JSON integer beyond any float: out of range, not a crash
        return (math.inf if value > 0 else -math.inf), unit


def event_time(value: object) -> datetime | None:
    """The UTC time of a `timestamp`, or None when it cannot be read as one."""
    seconds, _ = timestamp_seconds(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def landing_hour(event: object, sent_at: int) -> datetime:
    """The hour folder an event lands in (UTC): the hour it happened; when its time cannot be
    read, is out of range or is before FIRST_HOUR (it will be quarantined), the hour its batch
    was sent, or FIRST_HOUR when that is before it too: every event lands in an hour that has
    a partition, so every event is validated."""
    sent = datetime.fromtimestamp(sent_at, UTC)
    happened = event_time(event.get("timestamp")) if isinstance(event, dict) else None
    if happened is None or not FIRST_HOUR <= happened <= sent + MAX_FUTURE:
        happened = max(sent, FIRST_HOUR)
    return happened.replace(minute=0, second=0, microsecond=0)


def anonymous_id(session_id: str) -> str:
    """The stable id of a session without `user_id`: the same session always gets the same one
    (`anonymous-` and the first 12 hex digits of the MD5 of the session id)."""
    return ANONYMOUS_PREFIX + hashlib.md5(session_id.encode()).hexdigest()[:12]


def text_value(value: object) -> str | None:
    """A text field trimmed; None when absent, null, empty or not text."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


def event_record(event: object) -> tuple[str, bool]:
    """(the event as JSON with sorted keys, whether its text is valid Unicode). JSON can escape
    a lone surrogate such as \\ud800, which UTF-8, and so Arrow and Parquet, cannot hold: such
    an event's JSON escapes every character beyond ASCII, and reads back as the same event."""
    record = json.dumps(event, ensure_ascii=False, sort_keys=True)
    try:
        record.encode()
    except UnicodeEncodeError:
        return json.dumps(event, sort_keys=True), False
    return record, True


def _escaped_surrogates(text: str) -> str:
    """`text` with each lone surrogate written as its escape (`\\ud800`): text Arrow can hold."""
    return text.encode(errors="backslashreplace").decode()


def event_fields(event: object) -> dict:
    """One event as the typed columns the checks read (`schemas.WEB_EVENT_FIELDS`, but for the
    batch's columns); event_time is None when the timestamp is out of any clock's range."""
    record, is_unicode = event_record(event)
    if not isinstance(event, dict):
        return {"is_object": False, "is_unicode": is_unicode, "record": record}
    if not is_unicode:  # quarantined: its names and text as Arrow can hold them, escaped
        event = {
            _escaped_surrogates(name): _escaped_surrogates(value)
            if isinstance(value, str)
            else value
            for name, value in event.items()
        }
    fields = {field: text_value(event.get(field)) for field in TEXT_FIELDS}
    seconds, unit = timestamp_seconds(event.get("timestamp"))
    happened = event_time(event.get("timestamp"))
    extra = sorted(set(event) - set(KNOWN_FIELDS))
    return {
        "is_object": True,
        "is_unicode": is_unicode,
        **fields,
        "anonymous_id": anonymous_id(fields["session_id"]) if fields["session_id"] else None,
        "timestamp_unit": unit,
        "event_epoch": seconds,
        # Naive UTC, as every stored time of the project.
        "event_time": happened.replace(tzinfo=None) if happened else None,
        "extra_fields": ",".join(extra) or None,
        "record": record,
    }


def parse_weights(raw: str) -> dict[str, float]:
    """`view=1,click=2.5`: weights of the event types named, the defaults for the others. An
    unknown type, a repeated one or a weight that is not a number from 0 to MAX_WEIGHT is an
    error."""
    weights = dict(DEFAULT_WEIGHTS)
    seen = set()
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, _, number = (piece.strip() for piece in item.partition("="))
        if name not in EVENT_TYPES:
            raise ValueError(
                f"{name!r} is not an event type; the types are {', '.join(EVENT_TYPES)}"
            )
        if name in seen:
            raise ValueError(f"{name!r} is given twice")
        try:
            weight = float(number)
        except ValueError:
            raise ValueError(f"{name}={number!r}: expected a number") from None
        if not 0 <= weight <= MAX_WEIGHT:  # NaN fails both comparisons
            raise ValueError(
                f"{name}={number!r}: expected a number of at least 0 and at most {MAX_WEIGHT:g}"
            )
        weights[name] = weight
        seen.add(name)
    return weights


def reason_conditions(hour_start: datetime, hour_end: datetime) -> dict[str, str]:
    """When an event fails each rule, over `WEB_EVENT_FIELDS`, `redelivered_event` (the same
    record came earlier) and `repeated_event` (an event with the same DUPLICATE_KEY that passes
    every other rule came earlier), for the hour folder [hour_start, hour_end) (naive UTC)."""
    start, end = (moment.replace(tzinfo=UTC).timestamp() for moment in (hour_start, hour_end))
    return {
        REDELIVERED: "redelivered_event",
        "not_an_object": "NOT is_object",
        "invalid_unicode": "NOT is_unicode",
        "missing_session_id": "session_id IS NULL",
        "missing_event_type": "event_type IS NULL",
        "missing_page": "page IS NULL",
        # user_id becomes customer_id, a column of the warehouse as wide as the search log's
        # user_id; the other fields stay in the lake, which holds any length.
        "user_id_too_long": f"length(user_id) > {MAX_USER_ID_LENGTH}",
        "missing_timestamp": "timestamp_unit IS NULL",
        "invalid_timestamp": "timestamp_unit = 'invalid'",
        "timestamp_out_of_range": f"event_time IS NULL OR event_epoch < {EARLIEST.timestamp()} "
        f"OR event_epoch > sent_epoch + {MAX_FUTURE_SECONDS}",
        "before_first_partition": f"event_epoch < {FIRST_HOUR.timestamp()}",
        "unknown_event_type": f"event_type NOT IN ({literals(EVENT_TYPES)})",
        "outside_partition_hour": f"event_epoch < {start} OR event_epoch >= {end}",
        DUPLICATE: "repeated_event",
    }


# Two events are the same event when they agree on all of these (the timestamp read in
# either unit): the later delivery is the duplicate, unless it is the same record (REDELIVERED).
DUPLICATE_KEY = ("session_id", "user_id", "event_type", "page", "device", "browser", "event_epoch")


def weighted_sql(event_type: str, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> str:
    """The weight of an event type as SQL (0 for a type without one)."""
    branches = " ".join(
        f"WHEN {literal(name)} THEN {float(weight)!r}" for name, weight in weights.items()
    )
    return f"CASE {event_type} {branches} ELSE 0.0 END"


def crm_rows(extract: pa.Table) -> pa.Table:
    """The CRM extract (every column text, and the `line` each row starts on in the file) as
    `CRM_CUSTOMERS` and `line`: values trimmed, empty ones NULL, a rating that is not a whole
    number NULL, for `crm_rule_failures` to judge."""

    def text(name: str) -> list[str | None]:
        return [text_value(value) for value in extract[name].to_pylist()]

    ratings = [int(v) if v and v.isascii() and v.isdigit() else None for v in text("rating")]
    columns = {
        name: pa.array(text(name), pa.string())
        for name in ("customer_id", "contract", "loyalty_tier")
    }
    rows = {**columns, "rating": pa.array(ratings, pa.int64())}
    return pa.table({**rows, "line": extract["line"]})


def _repeated(values: list) -> list[bool]:
    """Whether each value, not NULL, came earlier in the list."""
    seen, repeated = set(), []
    for value in values:
        repeated.append(value is not None and value in seen)
        seen.add(value)
    return repeated


def crm_rule_failures(crm: pa.Table) -> dict[str, pa.ChunkedArray]:
    """For each rule of CRM_RULES, in its order, whether each row of `crm_rows` fails it."""

    def missing(name: str) -> pa.ChunkedArray:
        return pc.is_null(crm[name])

    def too_long(name: str) -> pa.ChunkedArray:
        return pc.fill_null(pc.greater(pc.utf8_length(crm[name]), CRM_MAX_LENGTHS[name]), False)

    def outside(name: str, allowed: tuple) -> pa.ChunkedArray:
        return pc.invert(pc.is_in(crm[name], value_set=pa.array(allowed, crm[name].type)))

    repeated = pa.chunked_array([pa.array(_repeated(crm["customer_id"].to_pylist()), pa.bool_())])
    return {
        "missing_customer_id": missing("customer_id"),
        "customer_id_too_long": too_long("customer_id"),
        "duplicate_customer_id": repeated,
        "missing_contract": missing("contract"),
        "contract_too_long": too_long("contract"),
        "invalid_loyalty_tier": outside("loyalty_tier", LOYALTY_TIERS),
        "invalid_rating": outside("rating", RATINGS),
    }
