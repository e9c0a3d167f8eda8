"""The shape every raw asset shares: read each day, validate it, and emit the valid rows and
the quarantine as two outputs, after the raw checks have passed.

Both come from one read of the day. Either may be materialized alone (the multi-asset is
subsettable); the other is then written from the same read all the same and reported as a
materialization event, so the valid rows and the quarantine of a day never disagree."""

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from customer_analytics.engines.arrow_sql import ParsedDay
from customer_analytics.lib.automation import newest_day, nightly_deadline
from customer_analytics.lib.checks import ERROR, WARN, Check, CheckThresholds, Outcome, run_checks
from customer_analytics.lib.landing import Lake
from customer_analytics.lib.metadata import OWNERS, stored_table, table_metadata
from customer_analytics.lib.staging import StagedPartitions, StoredPartitions

# The column that holds the day in both outputs.
DAY_COLUMN = "date"


def split_outs(
    valid: tuple[str, pa.Schema, str], quarantine: tuple[str, pa.Schema, str]
) -> dict[str, dg.AssetOut]:
    """The two outputs of a raw asset, each `(name, schema, description)`: the valid rows and
    the quarantine, both daily Parquet in the lake, both run for the newest day every night."""
    (valid_name, valid_schema, valid_text), (bad_name, bad_schema, bad_text) = valid, quarantine

    def out(schema: pa.Schema, description: str, kinds: set[str]) -> dg.AssetOut:
        return dg.AssetOut(
            description=description,
            io_manager_key="lake_io_manager",
            metadata=stored_table(schema, DAY_COLUMN),
            kinds=kinds,
            owners=OWNERS,
            automation_condition=newest_day,
            freshness_policy=nightly_deadline,
            is_required=False,  # either output may be selected alone
        )

    return {
        valid_name: out(valid_schema, valid_text, {"parquet", "duckdb", "s3"}),
        bad_name: out(bad_schema, bad_text, {"parquet"}),
    }


def value_counts(table: pa.Table, column: str) -> dict[str, int]:
    if not table.num_rows:
        return {}
    return {
        str(item["values"]): item["counts"] for item in pc.value_counts(table[column]).to_pylist()
    }


@dataclass(frozen=True)
class DayCounts:
    day: date
    valid: int
    by_reason: dict[str, int]

    @property
    def rows(self) -> int:
        return self.valid + sum(self.by_reason.values())

    def share(self, reason: str) -> float:
        return self.by_reason.get(reason, 0) / self.rows if self.rows else 0.0

    @property
    def rejected(self) -> int:
        return sum(self.by_reason.values())

    @property
    def rejected_share(self) -> float:
        return self.rejected / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class ValidatedDays:
    """What the raw checks look at: the run's days, their rows, and the days before them."""

    days: list[DayCounts]
    valid: pa.Table | ds.Dataset
    quarantine: pa.Table | ds.Dataset
    trailing_rows: dict[date, list[int]]  # rows of the earlier days each day is compared with
    thresholds: CheckThresholds


def _trailing_rows(
    days: list[DayCounts], lake: Lake, assets: tuple[str, str], window: int
) -> dict[date, list[int]]:
    """Rows of the `window` days before each day: from this run, else from the lake."""
    in_run = {counts.day: counts.rows for counts in days}

    def rows(day: date) -> int | None:
        if day in in_run:
            return in_run[day]
        stored = [lake.row_count(asset, day.isoformat()) for asset in assets]
        return None if None in stored else sum(stored)

    return {
        counts.day: [
            r
            for offset in range(1, window + 1)
            if (r := rows(counts.day - timedelta(days=offset))) is not None
        ]
        for counts in days
    }


def validated_days(
    context: dg.AssetExecutionContext,
    days: list[date],
    parse_day: Callable[[date], ParsedDay],
    *,
    outputs: tuple[str, str],
    reasons: tuple[str, ...],
    checks: Sequence[Check],
    lake: Lake,
    thresholds: CheckThresholds,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Parses each day and stages it in the lake as soon as it is parsed, runs the raw checks
    on the staged days, then puts them in place and emits (valid rows, quarantine) to `outputs`.
    The run holds one day in memory, however many days it covers."""
    counts = []
    with StagedPartitions(lake, context.run.run_id) as staged:
        for day in days:
            started = time.perf_counter()
            parsed = parse_day(day)
            for name, table in zip(outputs, (parsed.valid, parsed.quarantine), strict=True):
                staged.write(name, day.isoformat(), table)
            counts.append(
                DayCounts(day, parsed.valid.num_rows, value_counts(parsed.quarantine, "reason"))
            )
            context.log.info(
                f"{day}: {counts[-1].rows:,} rows, {parsed.valid.num_rows:,} valid, "
                f"{parsed.quarantine.num_rows:,} quarantined "
                f"({time.perf_counter() - started:.1f} s)"
            )
            del parsed
        validated = ValidatedDays(
            days=counts,
            valid=staged.dataset(outputs[0]),
            quarantine=staged.dataset(outputs[1]),
            trailing_rows=_trailing_rows(counts, lake, outputs, thresholds.trailing_days),
            thresholds=thresholds,
        )
        yield from run_checks(context, outputs[0], checks, validated=validated)
        stored = staged.commit()

    by_reason = {reason: sum(c.by_reason.get(reason, 0) for c in counts) for reason in reasons}
    total = sum(c.rows for c in counts)
    quarantined = sum(c.rejected for c in counts)
    valid_metadata = {
        "input_rows": total,
        "quarantined": quarantined,
        "quarantined_share": quarantined / total if total else 0.0,
        **{f"quarantined/{reason}": count for reason, count in by_reason.items()},
    }
    quarantine_metadata = {"by_reason": dg.MetadataValue.json(by_reason)}
    for name, metadata in ((outputs[0], valid_metadata), (outputs[1], quarantine_metadata)):
        if dg.AssetKey(name) in context.selected_asset_keys:
            yield dg.Output(stored[name], output_name=name, metadata=metadata)
        else:
            yield from _stored_alongside(context, lake, stored[name], metadata)


def _stored_alongside(
    context: dg.AssetExecutionContext, lake: Lake, stored: StoredPartitions, metadata: dict
) -> Iterator[dg.AssetMaterialization]:
    """Reports an output left out of the selection: written from the same read as the
    selected one, it is materialized all the same."""
    where = lake.location.describe(stored.asset)
    context.log.info(
        f"Wrote {stored.asset} under {where} from the same read as "
        f"{', '.join(sorted(key.to_user_string() for key in context.selected_asset_keys))}"
    )
    recorded = {**metadata, **table_metadata(stored.dataset), "path": dg.MetadataValue.path(where)}
    for key in stored.keys:
        yield dg.AssetMaterialization(asset_key=stored.asset, partition=key, metadata=recorded)


def median_or_none(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


def _worst(validated: ValidatedDays, reasons: Sequence[str]) -> tuple[DayCounts, float]:
    def share(counts: DayCounts) -> float:
        return sum(counts.share(reason) for reason in reasons)

    worst = max(validated.days, key=share)
    return worst, share(worst)


def file_schema_check(malformed: Sequence[str]) -> Check:
    def evaluate(validated: ValidatedDays) -> Outcome:
        worst, share = _worst(validated, malformed)
        limit = validated.thresholds.max_malformed_share
        return Outcome(
            passed=share <= limit,
            metadata={"worst_day": str(worst.day), "unreadable_share": share, "limit": limit},
        )

    return Check(
        "file_schema",
        f"Most rows of each day have the export's shape (not {' / '.join(malformed)}).",
        ERROR,
        evaluate,
    )


def quarantine_share_check(reasons: Sequence[str]) -> Check:
    def evaluate(validated: ValidatedDays) -> Outcome:
        limit = validated.thresholds.max_quarantine_share
        over = [
            {"day": str(c.day), "reason": r, "share": round(c.share(r), 5)}
            for c in validated.days
            for r in reasons
            if c.share(r) > limit
        ]
        rows = sum(c.rows for c in validated.days)
        shares = {
            r: sum(c.by_reason.get(r, 0) for c in validated.days) / rows if rows else 0.0
            for r in reasons
        }
        return Outcome(
            passed=not over,
            metadata={
                "limit_per_reason": limit,
                "share_by_reason": dg.MetadataValue.json(shares),
                "over_limit": dg.MetadataValue.json(over[:20]),
            },
        )

    return Check(
        "quarantine_share",
        "The share of rows quarantined for each reason stays under its limit.",
        WARN,
        evaluate,
    )


def _rejected(validated: ValidatedDays) -> Outcome:
    limit = validated.thresholds.max_rejected_share
    worst = max(validated.days, key=lambda counts: counts.rejected_share)
    return Outcome(
        passed=worst.rejected_share <= limit,
        metadata={
            "worst_day": str(worst.day),
            "rejected_share": worst.rejected_share,
            "rejected_rows": worst.rejected,
            "rows": worst.rows,
            "limit": limit,
            "days_over_limit": dg.MetadataValue.json(
                [str(c.day) for c in validated.days if c.rejected_share > limit]
            ),
            "rejected_share_by_day": dg.MetadataValue.json(
                {str(c.day): round(c.rejected_share, 5) for c in validated.days}
            ),
        },
    )


# Every reason together: a day can be mostly dirt while no single reason, nor the shape of the
# file, passes its own limit (a third truncated, half of the rest without a contract).
rejected_share_check = Check(
    "rejected_share",
    "Each day's share of rows rejected, all reasons together, stays under its limit: a day "
    "that is mostly dirt is not stored.",
    ERROR,
    _rejected,
)


def reason_share_check(name: str, reason: str, limit_field: str, description: str) -> Check:
    def evaluate(validated: ValidatedDays) -> Outcome:
        worst, share = _worst(validated, [reason])
        limit = getattr(validated.thresholds, limit_field)
        return Outcome(
            passed=share <= limit,
            metadata={"worst_day": str(worst.day), f"{reason}_share": share, "limit": limit},
        )

    return Check(name, description, WARN, evaluate)


def _volume(validated: ValidatedDays) -> Outcome:
    ratio = validated.thresholds.min_volume_ratio
    empty = [str(c.day) for c in validated.days if c.rows == 0]
    low = []
    for counts in validated.days:
        median = median_or_none(validated.trailing_rows[counts.day])
        if counts.rows and median and counts.rows < ratio * median:
            low.append({"day": str(counts.day), "rows": counts.rows, "trailing_median": median})
    metadata = {
        "rows_by_day": dg.MetadataValue.json({str(c.day): c.rows for c in validated.days}),
        "empty_days": dg.MetadataValue.json(empty),
        "low_days": dg.MetadataValue.json(low),
        "min_ratio_of_trailing_median": ratio,
    }
    if empty:
        return Outcome(passed=False, metadata=metadata)
    return Outcome(passed=not low, metadata=metadata, severity=WARN)


volume_check = Check(
    "daily_volume",
    "Each day has rows (an empty day blocks) and at least a share of the trailing median of "
    "earlier days (a low day warns).",
    ERROR,
    _volume,
)
