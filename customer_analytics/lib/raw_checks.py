"""The checks every raw log shares, over the counts of each partition of a run (a day, an hour):
the shape of the file, the share quarantined per reason and in all, and the volume against
earlier partitions."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from customer_analytics.engines.base import Engine, LakeFiles
from customer_analytics.lib.checks import ERROR, WARN, Check, CheckThresholds, Outcome


@dataclass(frozen=True)
class PartitionCounts:
    """The rows of one partition: valid, rejected by reason, and set apart."""

    partition: date  # a day, or an hour (a datetime)
    valid: int
    by_reason: dict[str, int]  # the rejected rows
    # Rows kept in the quarantine that are no rejection (the web's redeliveries), by reason: in
    # none of the shares the checks judge.
    set_apart: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.valid + self.rejected

    def share(self, reason: str) -> float:
        return self.by_reason.get(reason, 0) / self.rows if self.rows else 0.0

    @property
    def rejected(self) -> int:
        return sum(self.by_reason.values())

    @property
    def rejected_share(self) -> float:
        return self.rejected / self.rows if self.rows else 0.0

    @property
    def quarantined(self) -> int:
        return self.rejected + sum(self.set_apart.values())

    def in_quarantine(self, reason: str) -> int:
        return self.by_reason.get(reason, 0) + self.set_apart.get(reason, 0)


@dataclass(frozen=True)
class ValidatedPartitions:
    """What the raw checks look at: the run's partitions, their rows, and the partitions before
    them."""

    partitions: list[PartitionCounts]
    engine: Engine
    valid: LakeFiles  # the staged partitions, by reference
    quarantine: LakeFiles
    # Rows of the earlier partitions each partition is compared with (only the volume check
    # reads them).
    trailing_rows: dict[date, list[int]]
    thresholds: CheckThresholds

    def rejected_for(self, reason: str) -> int:
        """The run's rows rejected for `reason`."""
        return sum(counts.by_reason.get(reason, 0) for counts in self.partitions)


def median_or_none(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


def worst_share(
    validated: ValidatedPartitions, reasons: Sequence[str]
) -> tuple[PartitionCounts, float]:
    """The partition with the largest share of rows rejected for `reasons`, and that share."""

    def share(counts: PartitionCounts) -> float:
        return sum(counts.share(reason) for reason in reasons)

    worst = max(validated.partitions, key=share)
    return worst, share(worst)


def file_schema_check(malformed: Sequence[str]) -> Check[ValidatedPartitions]:
    def evaluate(validated: ValidatedPartitions) -> Outcome:
        worst, share = worst_share(validated, malformed)
        limit = validated.thresholds.max_malformed_share
        return Outcome(
            passed=share <= limit,
            metadata={"worst_day": str(worst.partition), "unreadable_share": share, "limit": limit},
        )

    return Check(
        "file_schema",
        f"Most rows of each day have the export's shape (not {' / '.join(malformed)}).",
        ERROR,
        evaluate,
    )


def quarantine_share_check(reasons: Sequence[str]) -> Check[ValidatedPartitions]:
    def evaluate(validated: ValidatedPartitions) -> Outcome:
        limit = validated.thresholds.max_quarantine_share
        over = [
            {"day": str(c.partition), "reason": r, "share": round(c.share(r), 5)}
            for c in validated.partitions
            for r in reasons
            if c.share(r) > limit
        ]
        rows = sum(c.rows for c in validated.partitions)
        shares = {r: validated.rejected_for(r) / rows if rows else 0.0 for r in reasons}
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


def _rejected(validated: ValidatedPartitions) -> Outcome:
    limit = validated.thresholds.max_rejected_share
    worst = max(validated.partitions, key=lambda counts: counts.rejected_share)
    return Outcome(
        passed=worst.rejected_share <= limit,
        metadata={
            "worst_day": str(worst.partition),
            "rejected_share": worst.rejected_share,
            "rejected_rows": worst.rejected,
            "rows": worst.rows,
            "limit": limit,
            "days_over_limit": dg.MetadataValue.json(
                [str(c.partition) for c in validated.partitions if c.rejected_share > limit]
            ),
            "rejected_share_by_day": dg.MetadataValue.json(
                {str(c.partition): round(c.rejected_share, 5) for c in validated.partitions}
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


def reason_share_check(
    name: str, reason: str, limit_field: str, description: str
) -> Check[ValidatedPartitions]:
    def evaluate(validated: ValidatedPartitions) -> Outcome:
        worst, share = worst_share(validated, [reason])
        limit = getattr(validated.thresholds, limit_field)
        return Outcome(
            passed=share <= limit,
            metadata={"worst_day": str(worst.partition), f"{reason}_share": share, "limit": limit},
        )

    return Check(name, description, WARN, evaluate)


def _volume(validated: ValidatedPartitions) -> Outcome:
    ratio = validated.thresholds.min_volume_ratio
    empty = [str(c.partition) for c in validated.partitions if c.rows == 0]
    low = []
    for counts in validated.partitions:
        median = median_or_none(validated.trailing_rows[counts.partition])
        if counts.rows and median and counts.rows < ratio * median:
            low.append(
                {"day": str(counts.partition), "rows": counts.rows, "trailing_median": median}
            )
    metadata = {
        "rows_by_day": dg.MetadataValue.json(
            {str(c.partition): c.rows for c in validated.partitions}
        ),
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
