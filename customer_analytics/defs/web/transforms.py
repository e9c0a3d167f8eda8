"""The clickstream transforms, written once for every engine.

An hour's batches are read into typed columns by the rules (`LandingZone.read_web_hour`); the
engine tests the rules, splits the hour into events, quarantine and extra columns, and builds
the sessions of a day and the loyalty of a month.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from customer_analytics.defs.web.rules import (
    DUPLICATE,
    DUPLICATE_KEY,
    INTERACTIONS,
    LATE_AFTER_SECONDS,
    QUARANTINE_REASONS,
    UNKNOWN,
    reason_conditions,
    weighted_sql,
)
from customer_analytics.defs.web.schemas import (
    CUSTOMER_LOYALTY,
    RAW_WEB_EVENTS,
    WEB_EXTRA_COLUMNS,
    WEB_QUARANTINE,
    WEB_SESSIONS,
)
from customer_analytics.engines.base import Engine, ParsedPartition, Query, Source
from customer_analytics.rules.sql import first_failing_reason, literal, literals

# Within a session, events in time order; at the same time, in delivery order.
IN_TIME_ORDER = "event_time, batch, position"


@dataclass(frozen=True)
class ParsedHour(ParsedPartition):
    """An hour of the clickstream: also the events' fields that the contract does not know."""

    extra_columns: Query


def _epoch(moment: datetime | date) -> float:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return moment.replace(tzinfo=UTC).timestamp()


def checked_events(events: Source, hour: datetime) -> Query:
    """Every event of an hour folder with the first rule it fails as `reason`. A duplicate is
    sought among the events that pass every other rule: an event quarantined first (ahead of
    its batch's clock, its text escaped) does not make a valid one with the same key its
    duplicate."""
    conditions = reason_conditions(hour, hour + timedelta(hours=1))
    others = {reason: rule for reason, rule in conditions.items() if reason != DUPLICATE}
    other_reason = first_failing_reason(others, [r for r in QUARANTINE_REASONS if r in others])
    return Query(
        f"""
        WITH delivered AS (
            SELECT *, row_number() OVER (PARTITION BY record ORDER BY batch, position) > 1
                AS redelivered_event
            FROM events
        ), judged AS (
            SELECT *, {other_reason} IS NULL AS passes_but_duplicates FROM delivered
        ), keyed AS (
            SELECT *, passes_but_duplicates AND row_number() OVER (
                PARTITION BY passes_but_duplicates, {", ".join(DUPLICATE_KEY)}
                ORDER BY batch, position) > 1 AS repeated_event
            FROM judged
        )
        SELECT *, {first_failing_reason(conditions, QUARANTINE_REASONS)} AS reason FROM keyed
        """,
        sources={"events": events},
    )


@contextmanager
def parse_web_hour(engine: Engine, events: pa.Table, hour: datetime) -> Iterator[ParsedHour]:
    """Validates the events landed in one hour folder (naive UTC `hour`)."""
    hour_literal = f"CAST({literal(hour.isoformat(sep=' '))} AS TIMESTAMP)"
    with engine.materialized(checked_events(events, hour)) as checked:
        yield ParsedHour(
            valid=Query(
                f"""SELECT event_time, event_epoch, session_id,
                           coalesce(user_id, anonymous_id) AS user_id,
                           user_id IS NULL AS is_anonymous, event_type, page,
                           coalesce(device, {literal(UNKNOWN)}) AS device,
                           coalesce(browser, {literal(UNKNOWN)}) AS browser,
                           timestamp_unit,
                           sent_epoch - event_epoch > {LATE_AFTER_SECONDS} AS is_late,
                           batch, position
                    FROM checked WHERE reason IS NULL ORDER BY {IN_TIME_ORDER}""",
                RAW_WEB_EVENTS,
                {"checked": checked},
            ),
            quarantine=Query(
                f"""SELECT {hour_literal} AS hour_start, batch, position, reason, record
                    FROM checked WHERE reason IS NOT NULL ORDER BY batch, position""",
                WEB_QUARANTINE,
                {"checked": checked},
            ),
            extra_columns=Query(
                f"""SELECT {hour_literal} AS hour_start, batch, position, session_id,
                           extra_fields, record
                    FROM checked WHERE extra_fields IS NOT NULL ORDER BY batch, position""",
                WEB_EXTRA_COLUMNS,
                {"checked": checked},
            ),
            checked=checked,
        )


def web_sessions(events: Source, day: date, weights: Mapping[str, float]) -> Query:
    """The sessions that started on `day`, from the events of the day before to the day after
    (so that a session across midnight is whole). A session is every event of one session_id;
    its user is the first named user by time, else its anonymous id."""
    start, end = _epoch(day), _epoch(day + timedelta(days=1))
    return Query(
        f"""
        WITH ordered AS (
            SELECT *,
                   row_number() OVER (PARTITION BY session_id ORDER BY {IN_TIME_ORDER}) AS nth,
                   row_number() OVER (PARTITION BY session_id
                       ORDER BY event_time DESC, batch DESC, position DESC) AS nth_from_end,
                   row_number() OVER (PARTITION BY session_id, is_anonymous
                       ORDER BY {IN_TIME_ORDER}) AS nth_of_kind
            FROM events
        ), sessions AS (
            SELECT session_id,
                   coalesce(max(CASE WHEN NOT is_anonymous AND nth_of_kind = 1 THEN user_id END),
                            max(user_id)) AS user_id,
                   min(CASE WHEN is_anonymous THEN 1 ELSE 0 END) = 1 AS is_anonymous,
                   min(event_time) AS session_start, max(event_time) AS session_end,
                   count(*) AS events, count(DISTINCT page) AS unique_pages,
                   max(CASE WHEN nth = 1 THEN event_type END) AS first_event,
                   max(CASE WHEN nth_from_end = 1 THEN event_type END) AS last_event,
                   max(CASE WHEN nth = 1 THEN device END) AS device,
                   max(CASE WHEN nth = 1 THEN browser END) AS browser,
                   count(*) FILTER (WHERE event_type IN ({literals(INTERACTIONS)}))
                       AS interactions,
                   sum({weighted_sql("event_type", weights)}) AS engagement_score,
                   min(event_epoch) AS start_epoch, max(event_epoch) AS end_epoch
            FROM ordered GROUP BY session_id
        )
        SELECT DATE {literal(day.isoformat())} AS date, session_id, user_id, is_anonymous,
               session_start, session_end, end_epoch - start_epoch AS duration_seconds,
               events, unique_pages, first_event, last_event, device, browser,
               interactions, engagement_score
        FROM sessions WHERE start_epoch >= {start} AND start_epoch < {end}
        ORDER BY session_start, session_id
        """,
        WEB_SESSIONS,
        {"events": events},
    )


def customer_loyalty(sessions: Source, crm: Source, month: date) -> Query:
    """Each named user's sessions of the month joined with the CRM extract on customer_id; a
    user the CRM does not know keeps a row, with NULL contract, tier and rating."""
    return Query(
        f"""
        WITH users AS (
            SELECT user_id, count(*) AS sessions, sum(events) AS events,
                   sum(engagement_score) AS engagement_score,
                   sum(interactions) AS loyalty_interactions
            FROM sessions WHERE NOT is_anonymous GROUP BY user_id
        )
        SELECT DATE {literal(month.isoformat())} AS month, u.user_id AS customer_id,
               c.contract, c.loyalty_tier, c.rating, u.sessions, u.events, u.engagement_score,
               u.engagement_score / NULLIF(u.sessions, 0) AS engagement_per_session,
               u.loyalty_interactions,
               100.0 * u.loyalty_interactions / NULLIF(u.events, 0) AS loyalty_rate_pct
        FROM users u LEFT JOIN crm c ON c.customer_id = u.user_id
        ORDER BY customer_id
        """,
        CUSTOMER_LOYALTY,
        {"sessions": sessions, "crm": crm},
    )
