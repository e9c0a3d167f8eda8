"""The checks of the clickstream (docs/web.md): the rules' shares on each hour, the sessions
against their events, the CRM extract and the loyalty join. They run inside their asset, on
the data about to be stored (`lib/checks.py`)."""

from dataclasses import dataclass

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.defs.web.rules import (
    CRM_MAX_LENGTHS,
    CRM_RULES,
    EVENT_TYPES,
    REJECTIONS,
    REQUIRED_REASONS,
    TIMESTAMP_REASONS,
    crm_rule_failures,
)
from customer_analytics.defs.web.schemas import CRM_CUSTOMERS, CUSTOMER_LOYALTY
from customer_analytics.engines.base import Engine, Source
from customer_analytics.io_managers.warehouse import Warehouse
from customer_analytics.lib.checks import (
    ERROR,
    WARN,
    Check,
    CheckThresholds,
    Outcome,
    warehouse_schema_check,
)
from customer_analytics.lib.raw_checks import (
    ValidatedPartitions,
    quarantine_share_check,
    rejected_share_check,
    worst_share,
)
from customer_analytics.rules.sql import literals


def _share_of(reasons: tuple[str, ...], name: str, description: str) -> Check[ValidatedPartitions]:
    """Blocks an hour where more than `max_rejected_share` of the events fail `reasons`."""

    def evaluate(validated: ValidatedPartitions) -> Outcome:
        worst, share = worst_share(validated, reasons)
        limit = validated.thresholds.max_rejected_share
        return Outcome(
            passed=share <= limit,
            metadata={
                "worst_hour": str(worst.partition),
                "share": share,
                "limit": limit,
                "by_reason": dg.MetadataValue.json({r: validated.rejected_for(r) for r in reasons}),
            },
        )

    return Check(name, description, ERROR, evaluate)


def _late_events(validated: ValidatedPartitions) -> Outcome:
    found = validated.engine.one_row(
        """SELECT count(*) FILTER (WHERE is_late) AS late, count(*) AS events,
                  count(*) FILTER (WHERE is_anonymous) AS anonymous FROM valid""",
        valid=validated.valid,
    )
    share = found["late"] / found["events"] if found["events"] else 0.0
    limit = validated.thresholds.max_late_event_share
    return Outcome(
        passed=share <= limit,
        metadata={
            "late_events": found["late"],
            "late_share": share,
            "anonymous_events": found["anonymous"],
            "limit": limit,
        },
    )


RAW_CHECKS: list[Check[ValidatedPartitions]] = [
    _share_of(
        REQUIRED_REASONS,
        "required_fields",
        "Each hour's events are JSON objects with session_id, event_type and page (text, not "
        "empty); an hour where more than the rejected-share limit lack them is not stored.",
    ),
    _share_of(
        TIMESTAMP_REASONS,
        "timestamp_sanity",
        "Each hour's timestamps are numbers (seconds or milliseconds) between 2000 and the "
        "batch's sending time, not before the first hourly partition; an hour where more than "
        "the rejected-share limit are not is not stored.",
    ),
    # A redelivery is no rejection: raw_web_events leaves it out of each hour's counts, so it
    # counts toward no share (it is counted in the assets' metadata).
    quarantine_share_check(REJECTIONS),
    rejected_share_check,
    Check(
        "late_event_share",
        "Few events are delivered more than an hour after they happened.",
        WARN,
        _late_events,
    ),
]


@dataclass(frozen=True)
class SessionsToStore:
    """What the checks of web_sessions look at: the day's sessions and the events they are
    built from."""

    engine: Engine
    sessions: Source
    events: Source


def _sessions_match_events(to_store: SessionsToStore) -> Outcome:
    """Recounts each session from the events, by session_id and time span, independently of
    the query that built it."""
    found = to_store.engine.one_row(
        f"""
        WITH recount AS (
            SELECT s.session_id, s.events, s.unique_pages, count(e.session_id) AS found,
                   count(DISTINCT e.page) AS pages
            FROM sessions s LEFT JOIN events e ON e.session_id = s.session_id
                 AND e.event_time >= s.session_start AND e.event_time <= s.session_end
            GROUP BY s.session_id, s.events, s.unique_pages
        )
        SELECT (SELECT count(*) FROM sessions) AS sessions,
               (SELECT count(DISTINCT session_id) FROM sessions) AS distinct_sessions,
               (SELECT count(*) FROM recount WHERE found <> events OR pages <> unique_pages)
                   AS miscounted,
               (SELECT count(*) FROM sessions WHERE session_end < session_start
                   OR duration_seconds < 0 OR unique_pages > events OR interactions > events
                   OR engagement_score < 0
                   OR first_event NOT IN ({literals(EVENT_TYPES)})
                   OR last_event NOT IN ({literals(EVENT_TYPES)})) AS inconsistent
        """,
        sessions=to_store.sessions,
        events=to_store.events,
    )
    passed = (
        found["sessions"] == found["distinct_sessions"]
        and found["miscounted"] == 0
        and found["inconsistent"] == 0
    )
    return Outcome(passed=passed, metadata={name: value or 0 for name, value in found.items()})


SESSION_CHECKS: list[Check[SessionsToStore]] = [
    Check(
        "sessions_match_events",
        "One row per session; its events and pages recounted from the events equal its own; "
        "start ≤ end, pages and interactions ≤ events, first and last events are known types.",
        ERROR,
        _sessions_match_events,
    ),
]


# The lines of a CRM rule's first failing rows shown in the check's metadata.
LINES_SHOWN = 5


@dataclass(frozen=True)
class CrmExtract:
    """What the checks of crm_customers look at: the rows of the CRM extract, the file they
    were read from, and the warehouse they are loaded into."""

    rows: pa.Table
    file: str  # as shown in a failure
    warehouse: Warehouse


def _crm_valid(extract: CrmExtract) -> Outcome:
    """Judges every row by every rule of CRM_RULES; a failure names the file, the line (as in
    the file, the header is line 1) and the rule of the first failing row."""
    crm = extract.rows
    failing_lines = {
        rule: crm["line"].filter(rows) for rule, rows in crm_rule_failures(crm).items()
    }
    failed = {rule: lines for rule, lines in failing_lines.items() if len(lines)}
    metadata = {
        "customers": crm.num_rows,
        "failing_rows": dg.MetadataValue.json(
            {rule: len(lines) for rule, lines in failing_lines.items()}
        ),
    }
    if failed:
        # The earliest line, and on it the first rule in CRM_RULES's order.
        rule = min(failed, key=lambda name: failed[name][0].as_py())
        line = failed[rule][0].as_py()
        metadata["first_failure"] = f"{extract.file} line {line}: {rule} ({CRM_RULES[rule]})"
        metadata["first_failing_lines"] = dg.MetadataValue.json(
            {name: lines[:LINES_SHOWN].to_pylist() for name, lines in failed.items()}
        )
    return Outcome(passed=not failed, metadata=metadata)


CRM_CHECKS: list[Check[CrmExtract]] = [
    Check(
        "crm_rows_valid",
        f"Each customer once, with an id of at most {CRM_MAX_LENGTHS['customer_id']} "
        f"characters and a contract of at most {CRM_MAX_LENGTHS['contract']} (the widths of "
        "their warehouse columns), a tier of Bronze, Silver, Gold or Platinum and a rating "
        "from 1 to 5; a failure names the file, the line and the rule.",
        ERROR,
        _crm_valid,
    ),
    warehouse_schema_check("crm_customers", CRM_CUSTOMERS),
]


@dataclass(frozen=True)
class LoyaltyToStore:
    """What the checks of customer_loyalty look at: the month's loyalty rows, the sessions they
    are counted from, and the warehouse they are loaded into."""

    engine: Engine
    loyalty: pa.Table
    sessions: Source
    thresholds: CheckThresholds
    warehouse: Warehouse


def _join_accounted(to_store: LoyaltyToStore) -> Outcome:
    loyalty = to_store.loyalty
    expected = to_store.engine.one_row(
        """SELECT count(DISTINCT user_id) AS customers, count(*) AS sessions
           FROM sessions WHERE NOT is_anonymous""",
        sessions=to_store.sessions,
    )
    matched = pc.count(loyalty["loyalty_tier"]).as_py()
    return Outcome(
        passed=loyalty.num_rows == expected["customers"]
        and pc.sum(loyalty["sessions"]).as_py() in (expected["sessions"], None)
        and pc.count_distinct(loyalty["customer_id"]).as_py() == loyalty.num_rows,
        metadata={
            "customers_with_sessions": expected["customers"],
            "rows": loyalty.num_rows,
            "in_crm": matched,
            "not_in_crm": loyalty.num_rows - matched,
            "sessions_of_named_users": expected["sessions"],
        },
    )


def _unmatched(to_store: LoyaltyToStore) -> Outcome:
    loyalty = to_store.loyalty
    unmatched = loyalty.num_rows - pc.count(loyalty["loyalty_tier"]).as_py()
    share = unmatched / loyalty.num_rows if loyalty.num_rows else 0.0
    limit = to_store.thresholds.max_unmatched_crm_share
    return Outcome(
        passed=share <= limit,
        metadata={"not_in_crm": unmatched, "share": share, "limit": limit},
    )


def _rates_in_range(to_store: LoyaltyToStore) -> Outcome:
    rate = to_store.loyalty["loyalty_rate_pct"]
    below, above = (
        pc.sum(f(rate, bound)).as_py() or 0 for f, bound in ((pc.less, 0), (pc.greater, 100))
    )
    return Outcome(passed=not (below or above), metadata={"below_0": below, "above_100": above})


LOYALTY_CHECKS: list[Check[LoyaltyToStore]] = [
    Check(
        "crm_join_accounted",
        "Every named user with sessions in the month is one row, in the CRM or counted as not "
        "in it; the rows' sessions add up to the month's sessions of named users.",
        ERROR,
        _join_accounted,
    ),
    Check(
        "crm_coverage",
        "Few customers of the clickstream are unknown to the CRM extract.",
        WARN,
        _unmatched,
    ),
    Check(
        "loyalty_rate_in_range", "Loyalty rates lie between 0 and 100 %.", ERROR, _rates_in_range
    ),
    warehouse_schema_check("customer_loyalty", CUSTOMER_LOYALTY),
]
