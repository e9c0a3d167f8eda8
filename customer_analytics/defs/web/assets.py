"""The app and web clickstream: web_event_batches → raw_web_events (+ web_quarantine,
web_extra_columns) → web_sessions → customer_loyalty, with crm_customers beside it."""

from datetime import datetime, timedelta

import dagster as dg
import pyarrow as pa

from customer_analytics.defs.web import transforms as web
from customer_analytics.defs.web.checks import (
    CRM_CHECKS,
    LOYALTY_CHECKS,
    RAW_CHECKS,
    SESSION_CHECKS,
    CrmExtract,
    LoyaltyToStore,
    SessionsToStore,
)
from customer_analytics.defs.web.events_api import EventsApi, land_batches
from customer_analytics.defs.web.landing import CRM_FILE, hour_folder, read_crm, read_web_hour
from customer_analytics.defs.web.partitions import web_daily, web_hourly, web_monthly
from customer_analytics.defs.web.resources import EngagementWeights
from customer_analytics.defs.web.rules import QUARANTINE_REASONS, REDELIVERED, crm_rows
from customer_analytics.defs.web.schemas import (
    CRM_CUSTOMERS,
    CUSTOMER_LOYALTY,
    RAW_WEB_EVENTS,
    WEB_EXTRA_COLUMNS,
    WEB_QUARANTINE,
    WEB_SESSIONS,
)
from customer_analytics.engines.base import LakeFiles
from customer_analytics.io_managers.warehouse import WarehouseResource
from customer_analytics.lib.automation import NIGHTLY, when_inputs_ready
from customer_analytics.lib.checks import CheckThresholds, check_specs, run_checks
from customer_analytics.lib.engine import ENGINE_KIND, ComputeEngine, engine_metadata
from customer_analytics.lib.lake import Lake
from customer_analytics.lib.landing import LandingZone
from customer_analytics.lib.metadata import OWNERS, stored_table, value_counts
from customer_analytics.lib.partitions import HOUR_KEY, partition_date
from customer_analytics.lib.raw_ingest import (
    HOUR,
    LakeOutput,
    RawLog,
    SideOutput,
    one_at_a_time,
    raw_ingest_asset,
)
from customer_analytics.lib.retries import network_retry, transient_retries_only

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


RAW_LOG = RawLog(
    valid=LakeOutput(
        "raw_web_events",
        RAW_WEB_EVENTS,
        "Valid events of an hour, in time order, in Hive-style folders "
        "`year=/month=/day=/hour=` that DuckDB and Spark prune.",
    ),
    quarantine=LakeOutput(
        "web_quarantine",
        WEB_QUARANTINE,
        "Rejected events of an hour with the first rule they fail and the event as JSON, and "
        "the events delivered again (`redelivered`), which are no rejection.",
    ),
    side_outputs=(
        SideOutput(
            LakeOutput(
                "web_extra_columns",
                WEB_EXTRA_COLUMNS,
                "Events of an hour that carried fields outside the known ones, whole, so that "
                "no field is lost.",
            ),
            rows=lambda parsed: parsed.extra_columns,
            counted_as="with extra fields",
            metadata_key="events_with_extra_fields",
        ),
    ),
    description="Validates each hour folder of `web_events/`: events, quarantine and extra "
    "columns, written from one read.",
    group=GROUP,
    unit=HOUR,
    partitions_def=web_hourly,
    rows_are="events",
    reasons=QUARANTINE_REASONS,
    # The checks' shares are of the events delivered once.
    set_apart=(REDELIVERED,),
    checks=RAW_CHECKS,
    files=lambda landing, hour: hour_folder(hour),
    parse=one_at_a_time(
        lambda engine, landing, hour: web.parse_web_hour(engine, read_web_hour(landing, hour), hour)
    ),
    deps=[web_event_batches],
)
raw_web_events = raw_ingest_asset(RAW_LOG)


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
    metadata=stored_table(WEB_SESSIONS, "date"),
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
            SessionsToStore(opened, sessions=sessions, events=raw_web_events),
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
    metadata=stored_table(CRM_CUSTOMERS),
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
    crm = crm_rows(read_crm(landing))
    yield from run_checks(
        context,
        "crm_customers",
        CRM_CHECKS,
        CrmExtract(crm, file=landing.location.describe(CRM_FILE), warehouse=warehouse.connect()),
    )
    yield dg.Output(
        crm.select(CRM_CUSTOMERS.names).cast(CRM_CUSTOMERS),
        metadata={"tiers": dg.MetadataValue.json(value_counts(crm, "loyalty_tier"))},
    )


@dg.asset(
    partitions_def=web_monthly,
    group_name=GROUP,
    # A month in progress: the days that have sessions (a month's run waits for all of them).
    ins={"web_sessions": dg.AssetIn(metadata={"allow_missing_partitions": True})},
    deps=[crm_customers],
    io_manager_key="warehouse_io_manager",
    metadata=stored_table(CUSTOMER_LOYALTY, "month"),
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
    crm = connection.read("crm_customers", None, CRM_CUSTOMERS)
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
            LoyaltyToStore(
                opened,
                loyalty=loyalty,
                sessions=web_sessions,
                thresholds=thresholds,
                warehouse=connection,
            ),
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
