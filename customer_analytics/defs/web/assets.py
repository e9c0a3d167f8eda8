"""The app and web clickstream: web_event_batches → raw_web_events (+ web_quarantine,
web_extra_columns) → web_sessions → customer_loyalty, with crm_customers beside it."""

import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import dagster as dg
import pyarrow as pa

from customer_analytics.defs.web.checks import (
    CRM_CHECKS,
    LOYALTY_CHECKS,
    RAW_CHECKS,
    SESSION_CHECKS,
)
from customer_analytics.engines import web
from customer_analytics.engines.base import Engine, LakeFiles, rows_by_value
from customer_analytics.io_managers.warehouse import WarehouseResource
from customer_analytics.lib.automation import NIGHTLY, when_inputs_ready
from customer_analytics.lib.checks import CheckThresholds, check_specs, run_checks
from customer_analytics.lib.engine import ENGINE_KIND, ComputeEngine, engine_metadata
from customer_analytics.lib.events_api import EventsApi, land_batches
from customer_analytics.lib.landing import CRM_FILE, Lake, LandingZone
from customer_analytics.lib.metadata import OWNERS, stored_table, value_counts
from customer_analytics.lib.partitions import (
    HOUR_KEY,
    partition_date,
    partition_hour,
    single_run,
    web_daily,
    web_hourly,
    web_monthly,
)
from customer_analytics.lib.raw_checks import DayCounts, ValidatedDays
from customer_analytics.lib.raw_days import stored_alongside
from customer_analytics.lib.retries import network_retry, transient_retries_only
from customer_analytics.lib.staging import StagedPartitions
from customer_analytics.rules import schemas
from customer_analytics.rules.web import REDELIVERED, REJECTIONS, crm_rows
from customer_analytics.settings import EngagementWeights

GROUP = "web"
# Every ten minutes the poller fetches what the events API has gathered since.
POLLING = "*/10 * * * *"


@dg.asset(
    group_name=GROUP,
    kinds={"http", "json"},
    owners=OWNERS,
    automation_condition=dg.AutomationCondition.on_cron(POLLING),
    retry_policy=network_retry,
    pool="events_api",
)
@transient_retries_only
def web_event_batches(
    context: dg.AssetExecutionContext, events_api: EventsApi, landing: LandingZone
):
    """Polls the events API (EVENTS_API_URL) from the cursor it saved, until it has caught up
    or the run's bounds are reached (EVENTS_API_MAX_BATCHES_PER_RUN,
    EVENTS_API_MAX_SECONDS_PER_RUN), and lands each batch in
    `web_events/YYYY/MM/DD/HH/batch-*.json` by the hour its events happened. The cursor is
    saved after each batch: a run that dies re-fetches at most the batch it was landing, under
    the same file names, so nothing is lost or landed twice."""
    landed = land_batches(
        events_api, landing.location, log=context.log.info, warn=context.log.warning
    )
    return dg.MaterializeResult(
        metadata={
            "batches": landed.batches,
            "events": landed.events,
            "hours_landed": dg.MetadataValue.json([f"{h:%Y-%m-%d %H}:00" for h in landed.hours]),
            "cursor": str(landed.cursor),
            "stopped": landed.stopped,
            "events_before_first_partition": landed.events_before_first_partition,
            "batches_with_implausible_sent_at": landed.implausible_sent_at,
        }
    )


def _out(description: str, schema: pa.Schema) -> dg.AssetOut:
    return dg.AssetOut(
        description=description,
        io_manager_key="lake_io_manager",
        metadata=stored_table(schema),
        kinds={"parquet", ENGINE_KIND},
        owners=OWNERS,
        # The newest hour after each poll; an older hour that a late event changed is run by
        # the sensor new_web_hours.
        automation_condition=when_inputs_ready,
        is_required=False,
    )


OUTS = {
    "raw_web_events": _out(
        "Valid events of an hour, in time order, in Hive-style folders "
        "`year=/month=/day=/hour=` that DuckDB and Spark prune.",
        schemas.RAW_WEB_EVENTS,
    ),
    "web_quarantine": _out(
        "Rejected events of an hour with the first rule they fail and the event as JSON, and "
        "the events delivered again (`redelivered`), which are no rejection.",
        schemas.WEB_QUARANTINE,
    ),
    "web_extra_columns": _out(
        "Events of an hour that carried fields outside the known ones, whole, so that no "
        "field is lost.",
        schemas.WEB_EXTRA_COLUMNS,
    ),
}


@dg.multi_asset(
    name="raw_web_events",
    description="Validates each hour folder of `web_events/`: events, quarantine and extra "
    "columns, written from one read.",
    outs=OUTS,
    partitions_def=web_hourly,
    backfill_policy=single_run,
    group_name=GROUP,
    deps=[web_event_batches],
    retry_policy=network_retry,
    can_subset=True,
    check_specs=check_specs("raw_web_events", RAW_CHECKS),
)
@transient_retries_only
def raw_web_events(
    context: dg.AssetExecutionContext,
    landing: LandingZone,
    lake: Lake,
    thresholds: CheckThresholds,
    engine: ComputeEngine,
):
    hours = [partition_hour(key) for key in context.partition_keys]
    missing = landing.missing([landing.web_hour_folder(hour) for hour in hours])
    if missing:
        raise dg.Failure(
            f"{len(missing)} hour(s) of web events have no batch in the landing zone: "
            f"{', '.join(missing[:10])}",
            allow_retries=False,
        )
    with engine.open() as opened:
        yield from _validated_hours(context, hours, opened, landing, lake, thresholds)


def _validated_hours(
    context: dg.AssetExecutionContext,
    hours: list[datetime],
    engine: Engine,
    landing: LandingZone,
    lake: Lake,
    thresholds: CheckThresholds,
) -> Iterator[dg.Output | dg.AssetCheckResult | dg.AssetMaterialization]:
    """Parses each hour and stages its three outputs as soon as it is parsed, runs the checks
    on the staged hours, then puts them in place and emits them (as `lib/raw_days.py` does for
    the days of the other domains, with an hour where they have a day)."""
    outputs = tuple(OUTS)
    counts, extra, redelivered = [], 0, 0
    with StagedPartitions(lake, context.run.run_id, engine) as staged:
        for hour in hours:
            started = time.perf_counter()
            key = hour.strftime(HOUR_KEY)
            with web.parse_web_hour(engine, landing.read_web_hour(hour), hour) as parsed:
                queries = (parsed.valid, parsed.quarantine, parsed.extra_columns)
                for name, query in zip(outputs, queries, strict=True):
                    staged.write(name, key, query)
                by_reason = dict(rows_by_value(engine, "reason", parsed.checked))
                with_extra = engine.one_row(
                    "SELECT count(*) AS n FROM checked WHERE extra_fields IS NOT NULL",
                    checked=parsed.checked,
                )["n"]
            # A redelivery is kept in the quarantine but is not one of the hour's events: the
            # checks' shares are of the events delivered once.
            hour_redelivered = by_reason.pop(REDELIVERED, 0)
            hour_counts = DayCounts(hour, by_reason.pop(None, 0), by_reason)
            counts.append(hour_counts)
            extra += with_extra
            redelivered += hour_redelivered
            context.log.info(
                f"{key}: {hour_counts.rows:,} events, {hour_counts.valid:,} valid, "
                f"{hour_counts.rejected:,} rejected, {hour_redelivered:,} redelivered, "
                f"{with_extra:,} with extra fields, on {engine.name} "
                f"({time.perf_counter() - started:.1f} s)"
            )
        validated = ValidatedDays(
            days=counts,
            engine=engine,
            valid=staged.files(outputs[0]),
            quarantine=staged.files(outputs[1]),
            trailing_rows={},
            thresholds=thresholds,
        )
        yield from run_checks(context, "raw_web_events", RAW_CHECKS, validated=validated)
        stored = staged.commit()

    rejected = {r: sum(c.by_reason.get(r, 0) for c in counts) for r in REJECTIONS}
    by_reason = {REDELIVERED: redelivered, **rejected}
    metadata = {
        "raw_web_events": {
            "input_events": sum(c.rows for c in counts) + redelivered,
            "quarantined": sum(by_reason.values()),
            **{f"quarantined/{reason}": n for reason, n in by_reason.items()},
        },
        "web_quarantine": {"by_reason": dg.MetadataValue.json(by_reason)},
        "web_extra_columns": {"events_with_extra_fields": extra},
    }
    for name in outputs:
        recorded = {**metadata[name], **engine_metadata(engine)}
        if dg.AssetKey(name) in context.selected_asset_keys:
            yield dg.Output(stored[name], output_name=name, metadata=recorded)
        else:
            yield from stored_alongside(context, lake, stored[name], recorded)


# A session across midnight is built whole: the day reads the hours of the day before and after.
DAY_AND_NEIGHBOURS = dg.TimeWindowPartitionMapping(
    start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True
)


@dg.asset(
    partitions_def=web_daily,
    group_name=GROUP,
    ins={
        "raw_web_events": dg.AssetIn(
            partition_mapping=DAY_AND_NEIGHBOURS, metadata={"allow_missing_partitions": True}
        )
    },
    io_manager_key="lake_io_manager",
    metadata=stored_table(schemas.WEB_SESSIONS, "date"),
    kinds={ENGINE_KIND, "parquet"},
    owners=OWNERS,
    automation_condition=when_inputs_ready,
    check_specs=check_specs("web_sessions", SESSION_CHECKS),
)
def web_sessions(
    context: dg.AssetExecutionContext,
    lake: Lake,
    engine: ComputeEngine,
    engagement: EngagementWeights,
    raw_web_events: LakeFiles,
):
    """One row per session that started this day (UTC): start, end, duration, events, pages,
    first and last event by time, device, browser, interactions and engagement score."""
    day = partition_date(context.partition_key)
    hours = [datetime(day.year, day.month, day.day) + timedelta(hours=h) for h in range(24)]
    missing = [
        f"{h:%H}:00" for h in hours if not lake.stored("raw_web_events", h.strftime(HOUR_KEY))
    ]
    if missing:
        raise dg.Failure(
            f"raw_web_events is not materialized for {len(missing)} hour(s) of {day}: "
            f"{', '.join(missing)}; materialize them and run the day again",
            metadata={"missing_hours": missing},
            allow_retries=False,
        )
    following = [h + timedelta(days=1) for h in hours]
    day_after = sum(lake.stored("raw_web_events", h.strftime(HOUR_KEY)) for h in following)
    if day_after < 24:
        context.log.warning(
            f"Only {day_after} of the 24 hours of the day after {day} are materialized: "
            "a session that started late on the day and went on past midnight may be cut short"
        )
    with engine.open() as opened:
        sessions = opened.fetch(web.web_sessions(raw_web_events, day, engagement.weights))
        yield from run_checks(
            context,
            "web_sessions",
            SESSION_CHECKS,
            engine=opened,
            sessions=sessions,
            events=raw_web_events,
        )
    yield dg.Output(
        sessions,
        metadata={
            "anonymous_sessions": sum(sessions["is_anonymous"].to_pylist()),
            "hours_of_day_after_read": day_after,
            "weights": dg.MetadataValue.json(engagement.weights),
            **engine_metadata(opened),
        },
    )


@dg.asset(
    group_name=GROUP,
    io_manager_key="warehouse_io_manager",
    metadata=stored_table(schemas.CRM_CUSTOMERS),
    kinds={"csv", "mysql"},
    owners=OWNERS,
    automation_condition=dg.AutomationCondition.on_cron(NIGHTLY),
    retry_policy=network_retry,
    pool="warehouse",
    check_specs=check_specs("crm_customers", CRM_CHECKS),
)
@transient_retries_only
def crm_customers(
    context: dg.AssetExecutionContext, landing: LandingZone, warehouse: WarehouseResource
):
    """The CRM extract (`crm/crm_customers.csv` in the landing zone): each customer's contract,
    loyalty tier and rating, checked and served from the warehouse. Every row is checked
    before any reaches it, on DuckDB and MySQL alike; a refused row is named by the file, its
    line and the rule."""
    crm = crm_rows(landing.read_crm())
    yield from run_checks(
        context,
        "crm_customers",
        CRM_CHECKS,
        crm=crm,
        crm_file=landing.location.describe(CRM_FILE),
        warehouse=warehouse.connect(),
    )
    yield dg.Output(
        crm.select(schemas.CRM_CUSTOMERS.names).cast(schemas.CRM_CUSTOMERS),
        metadata={"tiers": dg.MetadataValue.json(value_counts(crm, "loyalty_tier"))},
    )


@dg.asset(
    partitions_def=web_monthly,
    group_name=GROUP,
    # A month in progress: the days that have sessions (a month's run waits for all of them).
    ins={"web_sessions": dg.AssetIn(metadata={"allow_missing_partitions": True})},
    deps=[crm_customers],
    io_manager_key="warehouse_io_manager",
    metadata=stored_table(schemas.CUSTOMER_LOYALTY, "month"),
    kinds={ENGINE_KIND, "mysql"},
    owners=OWNERS,
    automation_condition=when_inputs_ready,
    retry_policy=network_retry,
    pool="warehouse",
    check_specs=check_specs("customer_loyalty", LOYALTY_CHECKS),
)
@transient_retries_only
def customer_loyalty(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    engine: ComputeEngine,
    thresholds: CheckThresholds,
    web_sessions: LakeFiles,
):
    """Each named customer's month of sessions joined with the CRM: engagement, loyalty
    interactions (clicks, likes, comments), loyalty rate, tier and rating, and the contract
    that links it to the viewing profile (customer_content_stats)."""
    month = partition_date(context.partition_key)
    connection = warehouse.connect()
    crm = connection.read("crm_customers", None, schemas.CRM_CUSTOMERS)
    if not crm.num_rows:
        raise dg.Failure(
            "The warehouse has no crm_customers yet: materialize crm_customers first",
            allow_retries=False,
        )
    with engine.open() as opened:
        loyalty = opened.fetch(web.customer_loyalty(web_sessions, crm, month))
        yield from run_checks(
            context,
            "customer_loyalty",
            LOYALTY_CHECKS,
            engine=opened,
            loyalty=loyalty,
            sessions=web_sessions,
            thresholds=thresholds,
            warehouse=connection,
        )
        anonymous = opened.one_row(
            "SELECT count(*) AS n FROM sessions WHERE is_anonymous", sessions=web_sessions
        )["n"]
    yield dg.Output(
        loyalty,
        metadata={
            "by_tier": dg.MetadataValue.json(_by_tier(loyalty)),
            "anonymous_sessions_left_out": anonymous,
            "days_with_sessions": len(web_sessions.relatives),
            **engine_metadata(opened),
        },
    )


def _by_tier(loyalty: pa.Table) -> list[dict]:
    """Customers, mean loyalty rate and mean rating per tier (None: not in the CRM)."""
    summary = loyalty.group_by("loyalty_tier").aggregate(
        [("customer_id", "count"), ("loyalty_rate_pct", "mean"), ("rating", "mean")]
    )
    return sorted(
        (
            {
                "tier": row["loyalty_tier"],
                "customers": row["customer_id_count"],
                "loyalty_rate_pct": round(row["loyalty_rate_pct_mean"], 2),
                "average_rating": None
                if row["rating_mean"] is None
                else round(row["rating_mean"], 2),
            }
            for row in summary.to_pylist()
        ),
        key=lambda row: str(row["tier"]),
    )
