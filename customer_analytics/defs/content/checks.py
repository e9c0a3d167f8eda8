"""The checks of the viewing-log chain: the rules of docs/contract.md §3 on the raw days and the
invariants of each output. They run inside their asset, on the data about to be stored
(`lib/checks.py`)."""

import calendar
from dataclasses import dataclass

import dagster as dg
import pyarrow as pa

from customer_analytics.defs.content.rules import QUARANTINE_REASONS
from customer_analytics.engines.base import Engine, Query, Source
from customer_analytics.io_managers.warehouse import Warehouse
from customer_analytics.lib.checks import ERROR, WARN, Check, Outcome, warehouse_schema_check
from customer_analytics.lib.raw_checks import (
    ValidatedPartitions,
    file_schema_check,
    quarantine_share_check,
    reason_share_check,
    rejected_share_check,
    volume_check,
)
from customer_analytics.rules.sql import literal
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS
from customer_analytics.rules.viewing import CATEGORIES, TOTAL_COLUMNS

ONE_DAY_SECONDS = 86_400


def _durations_over_a_day(validated: ValidatedPartitions) -> Outcome:
    found = validated.engine.one_row(
        f"""SELECT count(*) FILTER (WHERE TotalDuration > {ONE_DAY_SECONDS}) AS over,
                   count(*) AS records, max(TotalDuration) AS longest FROM valid""",
        valid=validated.valid,
    )
    share = found["over"] / found["records"] if found["records"] else 0.0
    limit = validated.thresholds.max_long_duration_share
    return Outcome(
        passed=share <= limit,
        metadata={
            "records_over_a_day": found["over"],
            "share": share,
            "longest_seconds": found["longest"] or 0,
            "limit": limit,
        },
    )


RAW_CHECKS: list[Check[ValidatedPartitions]] = [
    file_schema_check(("malformed_json", "missing_source")),
    quarantine_share_check(QUARANTINE_REASONS),
    rejected_share_check,
    reason_share_check(
        "unknown_app_share",
        "unknown_app",
        "max_unknown_app_share",
        "Few records come from apps outside the category map.",
    ),
    Check(
        "durations_over_a_day",
        f"Valid records rarely last longer than a day ({ONE_DAY_SECONDS:,} s).",
        WARN,
        _durations_over_a_day,
    ),
    volume_check,
]


@dataclass(frozen=True)
class PivotToStore:
    """What the checks of daily_pivot look at: the staged pivots and the raw days they sum."""

    engine: Engine
    pivot: Source
    raw_days: Source


@dataclass(frozen=True)
class ProfilesToStore:
    """What the checks of customer_content_stats look at: the month's profiles, the daily
    pivots they are summed from, and the warehouse they are loaded into."""

    engine: Engine
    profiles: Source
    pivot: Source
    warehouse: Warehouse


def _unique(engine: Engine, table: Source, key: str, what: str) -> Outcome:
    found = engine.one_row(
        f"""SELECT count(*) AS rows, count(DISTINCT ({key})) AS keys,
                   count(*) FILTER (WHERE Contract IS NULL OR Contract = '') AS missing
            FROM t""",
        t=table,
    )
    duplicates = found["rows"] - found["keys"]
    return Outcome(
        passed=duplicates == 0 and found["missing"] == 0,
        metadata={
            "rows": found["rows"],
            f"duplicate_{what}": duplicates,
            "missing_contracts": found["missing"],
        },
    )


def _non_negative(to_store: PivotToStore) -> Outcome:
    negatives = " + ".join(f"count(*) FILTER (WHERE {c} < 0)" for c in TOTAL_COLUMNS)
    found = to_store.engine.one_row(f"SELECT {negatives} AS negative FROM p", p=to_store.pivot)
    return Outcome(passed=found["negative"] == 0, metadata={"negative_totals": found["negative"]})


def _reconciles(to_store: PivotToStore) -> Outcome:
    pivot_sums = ", ".join(f"sum({c}) AS {c}" for c in TOTAL_COLUMNS)
    raw_sums = ", ".join(
        f"sum(TotalDuration) FILTER (WHERE category = {literal(category)}) AS {column}"
        for category, column in zip(CATEGORIES, TOTAL_COLUMNS, strict=True)
    )
    differences = " + ".join(
        f"CASE WHEN coalesce(p.{c}, 0) != coalesce(r.{c}, 0) THEN 1 ELSE 0 END"
        for c in TOTAL_COLUMNS
    )
    found = to_store.engine.one_row(
        f"""WITH p AS (SELECT date, {pivot_sums} FROM pivots GROUP BY date),
                 r AS (SELECT date, {raw_sums} FROM raw GROUP BY date)
            SELECT coalesce(sum({differences}), 0) AS mismatches,
                   count(*) AS days,
                   min(coalesce(p.date, r.date)) FILTER (WHERE {differences} > 0) AS first_day
            FROM p FULL OUTER JOIN r ON p.date = r.date""",
        pivots=to_store.pivot,
        raw=to_store.raw_days,
    )
    return Outcome(
        passed=found["mismatches"] == 0,
        metadata={
            "days": found["days"],
            "mismatched_day_categories": found["mismatches"],
            "first_mismatched_day": str(found["first_day"] or ""),
        },
    )


PIVOT_CHECKS: list[Check[PivotToStore]] = [
    Check(
        "one_row_per_date_contract",
        "One row per (date, Contract), no missing contract.",
        ERROR,
        lambda to_store: _unique(to_store.engine, to_store.pivot, "date, Contract", "rows"),
    ),
    Check("non_negative_totals", "Every Total_* is ≥ 0.", ERROR, _non_negative),
    Check(
        "reconciles_with_raw",
        "Per day and category, the pivot sums to the valid raw durations of that day.",
        ERROR,
        _reconciles,
    ),
]


def _active_in_month(to_store: ProfilesToStore) -> Outcome:
    distinct = Query("SELECT DISTINCT month FROM s", sources={"s": to_store.profiles})
    months = to_store.engine.fetch(distinct)["month"].to_pylist()
    lengths = pa.table(
        {
            "month": pa.array(months, pa.date32()),
            "days": [calendar.monthrange(m.year, m.month)[1] for m in months],
        }
    )
    found = to_store.engine.one_row(
        """SELECT count(*) FILTER (WHERE Active < 1 OR Active > days) AS outside,
                  min(Active) AS least, max(Active) AS most
           FROM s JOIN lengths ON s.month = lengths.month""",
        s=to_store.profiles,
        lengths=lengths,
    )
    return Outcome(
        passed=found["outside"] == 0,
        metadata={
            "outside_1_to_days_in_month": found["outside"],
            "min_active": found["least"] or 0,
            "max_active": found["most"] or 0,
        },
    )


def _most_watch_and_taste(to_store: ProfilesToStore) -> Outcome:
    largest = f"greatest({', '.join(TOTAL_COLUMNS)})"
    most_watch_total = " ".join(
        f"WHEN {literal(category)} THEN {column}"
        for category, column in zip(CATEGORIES, TOTAL_COLUMNS, strict=True)
    )
    positive = " + ".join(f"CASE WHEN {column} > 0 THEN 1 ELSE 0 END" for column in TOTAL_COLUMNS)
    taste_mismatch = " OR ".join(
        f"(coalesce(contains(Taste, {literal(category)}), false) != ({column} > 0))"
        for category, column in zip(CATEGORIES, TOTAL_COLUMNS, strict=True)
    )
    # Categories in Taste: one more than its dashes, none when NULL.
    listed = "coalesce(length(Taste) - length(replace(Taste, '-', '')) + 1, 0)"
    found = to_store.engine.one_row(
        f"""SELECT
              count(*) FILTER (WHERE NOT coalesce(
                  (MostWatch IS NULL AND {largest} = 0)
                  OR ({largest} > 0 AND (CASE MostWatch {most_watch_total} END) = {largest}),
                  false)
              ) AS most_watch_wrong,
              count(*) FILTER (WHERE {taste_mismatch}
                  OR {listed} != {positive}) AS taste_wrong
            FROM s""",
        s=to_store.profiles,
    )
    return Outcome(
        passed=found["most_watch_wrong"] == 0 and found["taste_wrong"] == 0,
        metadata={
            "most_watch_inconsistent": found["most_watch_wrong"],
            "taste_inconsistent": found["taste_wrong"],
        },
    )


def _totals_match(to_store: ProfilesToStore) -> Outcome:
    sums = ", ".join(f"sum({c}) AS {c}" for c in TOTAL_COLUMNS)
    stats = to_store.engine.one_row(f"SELECT {sums} FROM s", s=to_store.profiles)
    pivots = to_store.engine.one_row(f"SELECT {sums} FROM p", p=to_store.pivot)
    differing = {
        c: {"profiles": stats[c] or 0, "daily_pivots": pivots[c] or 0}
        for c in TOTAL_COLUMNS
        if (stats[c] or 0) != (pivots[c] or 0)
    }
    return Outcome(
        passed=not differing, metadata={"differing_totals": dg.MetadataValue.json(differing)}
    )


STATS_CHECKS: list[Check[ProfilesToStore]] = [
    warehouse_schema_check("customer_content_stats", CUSTOMER_CONTENT_STATS),
    Check(
        "contracts_unique",
        "One row per Contract, none missing.",
        ERROR,
        lambda to_store: _unique(
            to_store.engine, to_store.profiles, "month, Contract", "contracts"
        ),
    ),
    Check("active_days_in_month", "1 ≤ Active ≤ the days of the month.", ERROR, _active_in_month),
    Check(
        "most_watch_and_taste_consistent",
        "MostWatch is the category with the largest total (NULL when all are 0); Taste lists "
        "exactly the categories with a total > 0.",
        ERROR,
        _most_watch_and_taste,
    ),
    Check(
        "totals_match_daily_pivots",
        "Each category's monthly total equals the sum of the month's daily pivots.",
        ERROR,
        _totals_match,
    ),
]
