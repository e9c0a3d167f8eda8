"""The raw multi-asset of every log, built from what sets the log apart (`RawLog`): read each
partition of the landing zone (a day of a nightly export, an hour of the clickstream), validate
it in the engine, and emit its outputs (the valid rows, the quarantine and any the log adds)
once the raw checks have passed.

Every output comes from one read of the partition. Any may be materialized alone (the
multi-asset is subsettable); the others are then written from the same read all the same and
reported as materialization events, so the outputs of a partition never disagree. Each
partition is written to the lake by the engine as soon as it is parsed (`lib/staging.py`). On
DuckDB the run parses one partition at a time, so it holds one partition however many it covers;
on Spark, a log whose files the engine reads itself (`parses_ranges`) parses the whole range in
one plan, so that a backfill's Spark jobs do not grow with its days."""

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import pyarrow as pa

from customer_analytics.engines.base import (
    Engine,
    ParsedPartition,
    Query,
    partition_batches,
    rows_by_values,
)
from customer_analytics.lib.automation import newest_day, nightly_deadline, when_inputs_ready
from customer_analytics.lib.checks import Check, CheckThresholds, check_specs, run_checks
from customer_analytics.lib.engine import ENGINE_KIND, ComputeEngine, engine_metadata
from customer_analytics.lib.lake import Lake
from customer_analytics.lib.landing import LandingZone
from customer_analytics.lib.metadata import OWNERS, stored_table, table_metadata
from customer_analytics.lib.partitions import HOUR_KEY, partition_date, partition_hour, single_run
from customer_analytics.lib.raw_checks import PartitionCounts, ValidatedPartitions, volume_check
from customer_analytics.lib.retries import network_retry, transient_retries_only
from customer_analytics.lib.staging import StagedPartitions, StoredPartitions
from customer_analytics.rules.sql import literal

# The missing partitions a failure names: a backfill of hours may miss hundreds.
MISSING_SHOWN = 10


@dataclass(frozen=True)
class PartitionUnit:
    """What one partition of a raw log is, and when it is due."""

    name: str  # as messages say it
    length: timedelta
    partition_of: Callable[[str], date]  # the day or hour (a datetime) a key names
    key_format: str
    column: str | None  # the outputs' column that holds it; None: the lake's folders do
    automation_condition: dg.AutomationCondition
    freshness_policy: dg.FreshnessPolicy | None

    def key(self, partition: date) -> str:
        return partition.strftime(self.key_format)


# A day of a nightly export: the newest day after each night's export, late past the deadline.
DAY = PartitionUnit(
    "day", timedelta(days=1), partition_date, "%Y-%m-%d", "date", newest_day, nightly_deadline
)
# An hour of the clickstream: the newest hour after each poll; an older hour that a late event
# changed is run by the sensor new_web_hours.
HOUR = PartitionUnit(
    "hour", timedelta(hours=1), partition_hour, HOUR_KEY, None, when_inputs_ready, None
)


@dataclass(frozen=True)
class LakeOutput:
    """An output of a raw log: one Parquet file per partition in the lake."""

    name: str
    schema: pa.Schema
    description: str


@dataclass(frozen=True)
class SideOutput:
    """An output beside the valid rows and the quarantine (the web's events with unknown
    fields): its rows are counted, per partition in the log line as `<n> <counted_as>`, over
    the run in its metadata under `metadata_key`."""

    output: LakeOutput
    rows: Callable[[ParsedPartition], Query]
    counted_as: str
    metadata_key: str


@dataclass(frozen=True)
class RawLog:
    """What sets one raw log apart: its outputs, its partitions, its rules and checks, and how
    a partition is found and parsed."""

    valid: LakeOutput  # also the name of the multi-asset and of its checks' asset
    quarantine: LakeOutput
    description: str
    group: str
    unit: PartitionUnit
    partitions_def: dg.PartitionsDefinition
    reasons: tuple[str, ...]  # the rules' QUARANTINE_REASONS
    checks: Sequence[Check[ValidatedPartitions]]
    files: Callable[[LandingZone, date], str]  # the file or folder of a partition
    # Parses partitions at once: several only when `parses_ranges` and the engine computes
    # ranges (`Engine.computes_ranges`); their rows then have the unit's column.
    parse: Callable[[Engine, LandingZone, Sequence[date]], AbstractContextManager[ParsedPartition]]
    parses_ranges: bool = False
    rows_are: str = "rows"  # what a row is, in the log line and the metadata
    # Reasons of rows kept in the quarantine that are no rejection (the web's redeliveries).
    set_apart: tuple[str, ...] = ()
    side_outputs: tuple[SideOutput, ...] = ()
    deps: Sequence[dg.AssetsDefinition] = ()

    @property
    def outputs(self) -> tuple[LakeOutput, ...]:
        return (self.valid, self.quarantine, *(side.output for side in self.side_outputs))


def one_at_a_time(
    parse: Callable[[Engine, LandingZone, date], AbstractContextManager[ParsedPartition]],
) -> Callable[[Engine, LandingZone, Sequence[date]], AbstractContextManager[ParsedPartition]]:
    """`RawLog.parse` of a log that parses one partition at a time (not `parses_ranges`)."""

    def parse_one(
        engine: Engine, landing: LandingZone, partitions: Sequence[date]
    ) -> AbstractContextManager[ParsedPartition]:
        (partition,) = partitions
        return parse(engine, landing, partition)

    return parse_one


def _out(unit: PartitionUnit, output: LakeOutput) -> dg.AssetOut:
    return dg.AssetOut(
        description=output.description,
        io_manager_key="lake_io_manager",
        metadata=stored_table(output.schema, unit.column),
        kinds={"parquet", ENGINE_KIND},
        owners=OWNERS,
        automation_condition=unit.automation_condition,
        freshness_policy=unit.freshness_policy,
        is_required=False,  # any output may be selected alone
    )


def raw_ingest_asset(log: RawLog) -> dg.AssetsDefinition:
    """The multi-asset of a raw log: its outputs per partition, checked, in the lake."""

    @dg.multi_asset(
        name=log.valid.name,
        description=log.description,
        outs={output.name: _out(log.unit, output) for output in log.outputs},
        partitions_def=log.partitions_def,
        backfill_policy=single_run,
        group_name=log.group,
        deps=log.deps,
        retry_policy=network_retry,
        can_subset=True,
        check_specs=check_specs(log.valid.name, log.checks),
    )
    @transient_retries_only
    def raw_asset(
        context: dg.AssetExecutionContext,
        landing: LandingZone,
        lake: Lake,
        thresholds: CheckThresholds,
        engine: ComputeEngine,
    ):
        partitions = {key: log.unit.partition_of(key) for key in context.partition_keys}
        missing = landing.missing([log.files(landing, p) for p in partitions.values()])
        if missing:
            raise dg.Failure(
                f"{len(missing)} {log.unit.name}(s) of {log.valid.name} missing in the landing "
                f"zone: {', '.join(missing[:MISSING_SHOWN])}",
                allow_retries=False,
            )
        with engine.open() as opened:
            yield from _ingested(context, log, partitions, opened, landing, lake, thresholds)

    return raw_asset


def _ingested(
    context: dg.AssetExecutionContext,
    log: RawLog,
    partitions: dict[str, date],  # by key
    engine: Engine,
    landing: LandingZone,
    lake: Lake,
    thresholds: CheckThresholds,
) -> Iterator[dg.Output | dg.AssetCheckResult | dg.AssetMaterialization]:
    """Parses the partitions in the batches the engine computes at once, staging each batch's
    outputs as soon as it is parsed; runs the raw checks on the staged partitions, then puts
    them in place and emits them."""
    counts = []
    side_rows: Counter[str] = Counter()
    with StagedPartitions(lake, context.run.run_id, engine) as staged:
        for keys in partition_batches(engine, list(partitions), log.parses_ranges):
            started = time.perf_counter()
            batch = {key: partitions[key] for key in keys}
            batch_counts, batch_side_rows = _parsed(log, engine, landing, staged, batch)
            seconds = time.perf_counter() - started
            for key, partition_counts in batch_counts.items():
                counts.append(partition_counts)
                side_rows.update(batch_side_rows[key])
                figures = _figures(log, partition_counts, batch_side_rows[key])
                timing = f" ({seconds:.1f} s)" if len(keys) == 1 else ""
                context.log.info(f"{key}: {figures}, on {engine.name}{timing}")
            if len(keys) > 1:
                context.log.info(
                    f"{len(keys)} {log.unit.name}s of {log.valid.name} parsed in one plan on "
                    f"{engine.name} ({seconds:.1f} s)"
                )
        validated = ValidatedPartitions(
            partitions=counts,
            engine=engine,
            valid=staged.files(log.valid.name),
            quarantine=staged.files(log.quarantine.name),
            # Only the volume check compares with earlier partitions: without it, none is read.
            trailing_rows=_trailing_rows(counts, lake, log, thresholds.trailing_days)
            if volume_check in log.checks
            else {},
            thresholds=thresholds,
        )
        yield from run_checks(context, log.valid.name, log.checks, validated)
        stored = staged.commit()

    metadata = _metadata(log, counts, side_rows)
    for output in log.outputs:
        recorded = {**metadata[output.name], **engine_metadata(engine)}
        if dg.AssetKey(output.name) in context.selected_asset_keys:
            yield dg.Output(stored[output.name], output_name=output.name, metadata=recorded)
        else:
            yield from _stored_alongside(context, lake, stored[output.name], recorded)


def _parsed(
    log: RawLog,
    engine: Engine,
    landing: LandingZone,
    staged: StagedPartitions,
    batch: dict[str, date],  # by key
) -> tuple[dict[str, PartitionCounts], dict[str, dict[str, int]]]:
    """Parses partitions at once and stages their outputs; each partition's counts and the rows
    of its side outputs, each from one aggregate over the batch."""
    keys = list(batch)
    # A row's partition: the one parsed, else the text of the unit's column.
    key_of_row = literal(keys[0]) if len(keys) == 1 else f"CAST({log.unit.column} AS VARCHAR)"
    with log.parse(engine, landing, list(batch.values())) as parsed:
        sides = {side.output.name: side.rows(parsed) for side in log.side_outputs}
        written = {log.valid.name: parsed.valid, log.quarantine.name: parsed.quarantine, **sides}
        for name, rows in written.items():
            staged.write(name, keys, rows, log.unit.column)
        by_reason = rows_by_values(engine, [key_of_row, "reason"], parsed.checked)
        side_rows = {
            name: rows_by_values(engine, [key_of_row], rows) for name, rows in sides.items()
        }
    counts = {
        key: _counted(log, partition, {r: n for (k, r), n in by_reason.items() if k == key})
        for key, partition in batch.items()
    }
    return counts, {
        key: {name: rows.get((key,), 0) for name, rows in side_rows.items()} for key in keys
    }


def _counted(log: RawLog, partition: date, by_reason: dict[str | None, int]) -> PartitionCounts:
    valid = by_reason.pop(None, 0)
    set_apart = {reason: by_reason.pop(reason, 0) for reason in log.set_apart}
    return PartitionCounts(partition, valid, by_reason, set_apart)


def _figures(log: RawLog, counts: PartitionCounts, side_rows: dict[str, int]) -> str:
    """A partition's counts, as its log line gives them."""
    return ", ".join(
        [
            f"{counts.rows:,} {log.rows_are}",
            f"{counts.valid:,} valid",
            f"{counts.rejected:,} rejected",
            *(f"{counts.set_apart[reason]:,} {reason}" for reason in log.set_apart),
            *(f"{side_rows[side.output.name]:,} {side.counted_as}" for side in log.side_outputs),
        ]
    )


def _trailing_rows(
    counts: list[PartitionCounts], lake: Lake, log: RawLog, window: int
) -> dict[date, list[int]]:
    """Rows of the `window` partitions before each partition: from this run, else from the
    lake."""
    in_run = {c.partition: c.rows for c in counts}

    def rows(partition: date) -> int | None:
        if partition in in_run:
            return in_run[partition]
        key = log.unit.key(partition)
        stored = [lake.row_count(output.name, key) for output in (log.valid, log.quarantine)]
        return None if None in stored else sum(stored)

    return {
        c.partition: [
            r
            for offset in range(1, window + 1)
            if (r := rows(c.partition - offset * log.unit.length)) is not None
        ]
        for c in counts
    }


def _metadata(
    log: RawLog, counts: list[PartitionCounts], side_rows: Counter[str]
) -> dict[str, dict[str, object]]:
    """The figures of the run, by output."""
    by_reason = {r: sum(c.in_quarantine(r) for c in counts) for r in log.reasons}
    quarantined = sum(c.quarantined for c in counts)
    read = sum(c.valid for c in counts) + quarantined
    valid: dict[str, object] = {f"input_{log.rows_are}": read, "quarantined": quarantined}
    if not log.set_apart:
        # Rows set apart would count in a share of the quarantine, though no rejection.
        valid["quarantined_share"] = quarantined / read if read else 0.0
    valid |= {f"quarantined/{reason}": n for reason, n in by_reason.items()}
    return {
        log.valid.name: valid,
        log.quarantine.name: {"by_reason": dg.MetadataValue.json(by_reason)},
        **{
            side.output.name: {side.metadata_key: side_rows[side.output.name]}
            for side in log.side_outputs
        },
    }


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
    recorded = {
        **metadata,
        **table_metadata(stored.files.dataset()),
        "path": dg.MetadataValue.path(where),
    }
    for key in stored.keys:
        yield dg.AssetMaterialization(asset_key=stored.asset, partition=key, metadata=recorded)
