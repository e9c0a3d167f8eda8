"""The checks every raw log shares, over the counts of each day of a run: the shape of the
file, the share quarantined per reason and in all, and the volume against earlier days."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg

from customer_analytics.engines.base import Engine, LakeFiles
from customer_analytics.lib.checks import ERROR, WARN, Check, CheckThresholds, Outcome


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
    engine: Engine
    valid: LakeFiles  # the staged days, by reference
    quarantine: LakeFiles
    trailing_rows: dict[date, list[int]]  # rows of the earlier days each day is compared with
    thresholds: CheckThresholds


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
