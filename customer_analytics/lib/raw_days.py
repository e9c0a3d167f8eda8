"""The raw asset both domains build: read each day, validate it, and emit the valid rows and
the quarantine as two outputs, after the raw checks have passed.

Both come from one read of the day. Either may be materialized alone (the multi-asset is
subsettable); the other is then written from the same read all the same and reported as a
materialization event, so the valid rows and the quarantine of a day never disagree. Each day
is written to the lake by the engine as soon as it is parsed (`lib/staging.py`): the run holds
one day, however many days it covers."""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import pyarrow as pa

from customer_analytics.engines.base import Engine, ParsedDay, rows_by_value
from customer_analytics.lib.automation import newest_day, nightly_deadline
from customer_analytics.lib.checks import Check, CheckThresholds, check_specs, run_checks
from customer_analytics.lib.engine import ENGINE_KIND, ComputeEngine, engine_metadata
from customer_analytics.lib.landing import Lake, LandingZone
from customer_analytics.lib.metadata import OWNERS, stored_table, table_metadata
from customer_analytics.lib.partitions import partition_date, single_run
from customer_analytics.lib.raw_checks import DayCounts, ValidatedDays
from customer_analytics.lib.retries import network_retry, transient_retries_only
from customer_analytics.lib.staging import StagedPartitions, StoredPartitions

# The column that holds the day in both outputs.
DAY_COLUMN = "date"


@dataclass(frozen=True)
class Output:
    name: str
    schema: pa.Schema
    description: str


@dataclass(frozen=True)
class RawLog:
    """What sets the raw log of one domain apart."""

    valid: Output
    quarantine: Output
    description: str
    group: str
    partitions_def: dg.PartitionsDefinition
    reasons: tuple[str, ...]  # the rules' QUARANTINE_REASONS
    checks: Sequence[Check]
    day_files: Callable[[LandingZone, date], str]  # the file or folder of a day
    parse: Callable[[Engine, LandingZone, date], AbstractContextManager[ParsedDay]]


def _outs(log: RawLog) -> dict[str, dg.AssetOut]:
    def out(output: Output) -> dg.AssetOut:
        return dg.AssetOut(
            description=output.description,
            io_manager_key="lake_io_manager",
            metadata=stored_table(output.schema, DAY_COLUMN),
            kinds={"parquet", ENGINE_KIND},
            owners=OWNERS,
            automation_condition=newest_day,
            freshness_policy=nightly_deadline,
            is_required=False,  # either output may be selected alone
        )

    return {output.name: out(output) for output in (log.valid, log.quarantine)}


def raw_day_asset(log: RawLog) -> dg.AssetsDefinition:
    """The multi-asset of a raw log: (valid rows, quarantine) per day, checked, in the lake."""

    @dg.multi_asset(
        name=log.valid.name,
        description=log.description,
        outs=_outs(log),
        partitions_def=log.partitions_def,
        backfill_policy=single_run,
        group_name=log.group,
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
        days = [partition_date(key) for key in context.partition_keys]
        missing = landing.missing([log.day_files(landing, day) for day in days])
        if missing:
            raise dg.Failure(
                f"{len(missing)} day(s) of {log.valid.name} missing in the landing zone: "
                f"{', '.join(missing)}",
                allow_retries=False,
            )
        with engine.open() as opened:
            yield from _validated_days(context, days, log, opened, landing, lake, thresholds)

    return raw_asset


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


def _validated_days(
    context: dg.AssetExecutionContext,
    days: list[date],
    log: RawLog,
    engine: Engine,
    landing: LandingZone,
    lake: Lake,
    thresholds: CheckThresholds,
) -> Iterator[dg.Output | dg.AssetCheckResult | dg.AssetMaterialization]:
    """Parses each day and stages it in the lake as soon as it is parsed, runs the raw checks
    on the staged days, then puts them in place and emits (valid rows, quarantine)."""
    outputs = (log.valid.name, log.quarantine.name)
    counts = []
    with StagedPartitions(lake, context.run.run_id, engine) as staged:
        for day in days:
            started = time.perf_counter()
            with log.parse(engine, landing, day) as parsed:
                for name, query in zip(outputs, (parsed.valid, parsed.quarantine), strict=True):
                    staged.write(name, day.isoformat(), query)
                by_reason = dict(rows_by_value(engine, "reason", parsed.checked))
            day_counts = DayCounts(day, by_reason.pop(None, 0), by_reason)
            counts.append(day_counts)
            context.log.info(
                f"{day}: {day_counts.rows:,} rows, {day_counts.valid:,} valid, "
                f"{day_counts.rejected:,} quarantined on {engine.name} "
                f"({time.perf_counter() - started:.1f} s)"
            )
        validated = ValidatedDays(
            days=counts,
            engine=engine,
            valid=staged.files(outputs[0]),
            quarantine=staged.files(outputs[1]),
            trailing_rows=_trailing_rows(counts, lake, outputs, thresholds.trailing_days),
            thresholds=thresholds,
        )
        yield from run_checks(context, outputs[0], log.checks, validated=validated)
        stored = staged.commit()

    by_reason = {r: sum(c.by_reason.get(r, 0) for c in counts) for r in log.reasons}
    total = sum(c.rows for c in counts)
    quarantined = sum(c.rejected for c in counts)
    valid_metadata = {
        "input_rows": total,
        "quarantined": quarantined,
        "quarantined_share": quarantined / total if total else 0.0,
        **{f"quarantined/{reason}": count for reason, count in by_reason.items()},
        **engine_metadata(engine),
    }
    quarantine_metadata = {"by_reason": dg.MetadataValue.json(by_reason), **engine_metadata(engine)}
    for name, metadata in zip(outputs, (valid_metadata, quarantine_metadata), strict=True):
        if dg.AssetKey(name) in context.selected_asset_keys:
            yield dg.Output(stored[name], output_name=name, metadata=metadata)
        else:
            yield from stored_alongside(context, lake, stored[name], metadata)


def stored_alongside(
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
