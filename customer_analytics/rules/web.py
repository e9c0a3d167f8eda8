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
# The events that count as loyalty interactions: the customer acts, not only looks.
INTERACTIONS = ("click", "like", "comment")

# A number at or above this is milliseconds (the year 5138 in seconds; 1973 in milliseconds).
MILLISECONDS_FROM = 100_000_000_000
# Events before this are a clock that was never set.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# An event may be stamped at most this far after the batch that delivered it was sent (clock
# skew); beyond, its time is wrong.
MAX_FUTURE_SECONDS = 5 * 60
MAX_FUTURE = timedelta(seconds=MAX_FUTURE_SECONDS)
# An event delivered more than this after it happened is late.
LATE_AFTER_SECONDS = 60 * 60

ANONYMOUS_PREFIX = "anonymous-"

LOYALTY_TIERS = ("Bronze", "Silver", "Gold", "Platinum")
RATINGS = (1, 2, 3, 4, 5)

QUARANTINE_REASONS = (
    "not_an_object",
    "missing_session_id",
    "missing_event_type",
    "missing_page",
    "missing_timestamp",
    "invalid_timestamp",
    "timestamp_out_of_range",
    "unknown_event_type",
    "outside_partition_hour",
    "duplicate_event",
)
REQUIRED_REASONS = ("not_an_object", "missing_session_id", "missing_event_type", "missing_page")
TIMESTAMP_REASONS = ("missing_timestamp", "invalid_timestamp", "timestamp_out_of_range")


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
    """The hour folder an event lands in (UTC): the hour it happened, or, when its time cannot
    be read or is out of range (it will be quarantined), the hour its batch was sent."""
    sent = datetime.fromtimestamp(sent_at, UTC)
    happened = event_time(event.get("timestamp")) if isinstance(event, dict) else None
    if happened is None or not EARLIEST <= happened <= sent + MAX_FUTURE:
        happened = sent
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


def event_fields(event: object) -> dict:
    """One event as the typed columns the checks read (`schemas.WEB_EVENT_FIELDS`, but for the
    batch's columns); event_time is None when the timestamp is out of any clock's range."""
    if not isinstance(event, dict):
        return {"is_object": False, "record": json.dumps(event, ensure_ascii=False)}
    fields = {field: text_value(event.get(field)) for field in TEXT_FIELDS}
    seconds, unit = timestamp_seconds(event.get("timestamp"))
    happened = event_time(event.get("timestamp"))
    extra = sorted(set(event) - set(KNOWN_FIELDS))
    return {
        "is_object": True,
        **fields,
        "anonymous_id": anonymous_id(fields["session_id"]) if fields["session_id"] else None,
        "timestamp_unit": unit,
        "event_epoch": seconds,
        # Naive UTC, as every stored time of the project.
        "event_time": happened.replace(tzinfo=None) if happened else None,
        "extra_fields": ",".join(extra) or None,
        "record": json.dumps(event, ensure_ascii=False, sort_keys=True),
    }


def parse_weights(raw: str) -> dict[str, float]:
    """`view=1,click=2.5`: weights of the event types named, the defaults for the others. An
    unknown type, a repeated one or a weight that is not a number of at least 0 is an error."""
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
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"{name}={number!r}: expected a number of at least 0")
        weights[name] = weight
        seen.add(name)
    return weights


def reason_conditions(hour_start: datetime, hour_end: datetime) -> dict[str, str]:
    """When an event fails each rule, over `WEB_EVENT_FIELDS` and `repeated_event` (the same
    event came earlier), for the hour folder [hour_start, hour_end) (naive UTC)."""
    start, end = (moment.replace(tzinfo=UTC).timestamp() for moment in (hour_start, hour_end))
    return {
        "not_an_object": "NOT is_object",
        "missing_session_id": "session_id IS NULL",
        "missing_event_type": "event_type IS NULL",
        "missing_page": "page IS NULL",
        "missing_timestamp": "timestamp_unit IS NULL",
        "invalid_timestamp": "timestamp_unit = 'invalid'",
        "timestamp_out_of_range": f"event_time IS NULL OR event_epoch < {EARLIEST.timestamp()} "
        f"OR event_epoch > sent_epoch + {MAX_FUTURE_SECONDS}",
        "unknown_event_type": f"event_type NOT IN ({literals(EVENT_TYPES)})",
        "outside_partition_hour": f"event_epoch < {start} OR event_epoch >= {end}",
        "duplicate_event": "repeated_event",
    }


# Two events are the same event when they agree on all of these (the timestamp read in
# either unit): the later delivery is the duplicate.
DUPLICATE_KEY = ("session_id", "user_id", "event_type", "page", "device", "browser", "event_epoch")


def weighted_sql(event_type: str, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> str:
    """The weight of an event type as SQL (0 for a type without one)."""
    branches = " ".join(
        f"WHEN {literal(name)} THEN {float(weight)!r}" for name, weight in weights.items()
    )
    return f"CASE {event_type} {branches} ELSE 0.0 END"


def crm_rows(extract: pa.Table) -> pa.Table:
    """The CRM extract (every column text) as `CRM_CUSTOMERS`: values trimmed, empty ones
    NULL, a rating that is not a whole number NULL, for the checks to count."""

    def text(name: str) -> list[str | None]:
        return [text_value(value) for value in extract[name].to_pylist()]

    ratings = [int(v) if v and v.isascii() and v.isdigit() else None for v in text("rating")]
    columns = {name: text(name) for name in ("customer_id", "contract", "loyalty_tier")}
    return pa.table({**columns, "rating": pa.array(ratings, pa.int64())})
