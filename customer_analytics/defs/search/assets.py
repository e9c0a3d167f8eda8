"""The search-log chain: raw_log_search → monthly_top_keyword → keyword_category →
customer_search_stats."""

import asyncio

import dagster as dg
import pyarrow.compute as pc

from customer_analytics.defs.search import transforms as search
from customer_analytics.defs.search.checks import (
    CATEGORY_CHECKS,
    RAW_CHECKS,
    STATS_CHECKS,
    TOP_KEYWORD_CHECKS,
    KeywordCategories,
    SearchStatsToStore,
    TopKeywordsToStore,
)
from customer_analytics.defs.search.classifiers.cache import KeywordCache
from customer_analytics.defs.search.classifiers.classifier import KeywordClassifier
from customer_analytics.defs.search.classifiers.resource import KeywordClassifierResource
from customer_analytics.defs.search.landing import SearchExport, day_folder, read_search_day
from customer_analytics.defs.search.rules import QUARANTINE_REASONS
from customer_analytics.defs.search.schemas import (
    KEYWORD_CATEGORY,
    LOG_SEARCH_FILE,
    MONTHLY_TOP_KEYWORD,
    RAW_LOG_SEARCH,
    SEARCH_QUARANTINE,
)
from customer_analytics.engines.base import LakeFiles
from customer_analytics.io_managers.warehouse import WarehouseResource
from customer_analytics.lib.automation import when_inputs_ready
from customer_analytics.lib.checks import CheckThresholds, check_specs, run_checks
from customer_analytics.lib.engine import ENGINE_KIND, ComputeEngine, engine_metadata
from customer_analytics.lib.lake import Lake
from customer_analytics.lib.metadata import (
    OWNERS,
    column_lineage,
    shortened,
    stored_table,
    table_metadata,
    value_counts,
)
from customer_analytics.lib.partitions import (
    partition_date,
    previous_month,
    search_daily,
    search_monthly,
)
from customer_analytics.lib.raw_ingest import (
    DAY,
    LakeOutput,
    RawLog,
    one_at_a_time,
    raw_ingest_asset,
)
from customer_analytics.lib.retries import network_retry, transient_retries_only
from customer_analytics.rules.tables import CUSTOMER_SEARCH_STATS

STATS_LINEAGE = column_lineage(
    {
        "user_id": [("monthly_top_keyword", "user_id")],
        "keyword_prev": [("monthly_top_keyword", "keyword")],
        "keyword_cur": [("monthly_top_keyword", "keyword")],
        "category_prev": [("keyword_category", "category")],
        "category_cur": [("keyword_category", "category")],
        "taste": [("keyword_category", "category")],
    }
)

# customer_search_stats of month M compares M with M-1; the first month has no M-1.
THIS_AND_PREVIOUS_MONTH = dg.TimeWindowPartitionMapping(
    start_offset=-1, allow_nonexistent_upstream_partitions=True
)


RAW_LOG = RawLog(
    valid=LakeOutput(
        "raw_log_search",
        RAW_LOG_SEARCH,
        "Valid searches of a day with their normalized keyword.",
    ),
    quarantine=LakeOutput(
        "search_quarantine",
        SEARCH_QUARANTINE,
        "Rejected search rows with the first rule they fail, their row number and the row as JSON.",
    ),
    description="Reads each day's `log_search/YYYYMMDD/part-*.parquet`, normalizes the keywords "
    "and splits the day into valid searches and quarantined rows.",
    group="search",
    unit=DAY,
    partitions_def=search_daily,
    reasons=QUARANTINE_REASONS,
    checks=RAW_CHECKS,
    files=lambda landing, day: day_folder(day),
    parse=one_at_a_time(
        lambda engine, landing, day: search.parse_search_days(
            engine, {day: read_search_day(landing, day, tuple(LOG_SEARCH_FILE.names))}
        )
    ),
)
raw_log_search = raw_ingest_asset(RAW_LOG)


@dg.asset(
    partitions_def=search_monthly,
    group_name="search",
    # The export covers only part of each month (SEARCH_EXPORT_DAYS): the IO manager loads the
    # days that exist, the asset fails if one inside the window is missing.
    ins={"raw_log_search": dg.AssetIn(metadata={"allow_missing_partitions": True})},
    io_manager_key="lake_io_manager",
    metadata=stored_table(MONTHLY_TOP_KEYWORD, "month"),
    kinds={ENGINE_KIND, "parquet"},
    owners=OWNERS,
    automation_condition=when_inputs_ready,
    check_specs=check_specs("monthly_top_keyword", TOP_KEYWORD_CHECKS),
)
def monthly_top_keyword(
    context: dg.AssetExecutionContext,
    search_export: SearchExport,
    lake: Lake,
    engine: ComputeEngine,
    raw_log_search: LakeFiles,
):
    """Each user's most searched keyword of the month, ties to the smallest keyword, over the
    days of the search export (SEARCH_EXPORT_DAYS), every one of which must be materialized."""
    window = search_export.window(partition_date(context.partition_key))
    missing = [str(day) for day in window if not lake.stored("raw_log_search", str(day))]
    if missing:
        raise dg.Failure(
            f"raw_log_search is not materialized for {len(missing)} day(s) of the search "
            f"export window of {window[0]:%Y-%m} (SEARCH_EXPORT_DAYS): {', '.join(missing)}; "
            "materialize them (or correct SEARCH_EXPORT_DAYS) and run the month again",
            metadata={"missing_days": missing},
            allow_retries=False,
        )
    with engine.open() as opened:
        top = opened.fetch(search.monthly_top_keyword(raw_log_search))
        yield from run_checks(
            context,
            "monthly_top_keyword",
            TOP_KEYWORD_CHECKS,
            TopKeywordsToStore(opened, top_keywords=top),
        )
    yield dg.Output(
        top,
        metadata={
            "distinct_keywords": pc.count_distinct(top["keyword"]).as_py(),
            **engine_metadata(opened),
        },
    )


async def _classify_and_store(
    classifier: KeywordClassifier, keywords: list[str], cache: KeywordCache, log
) -> None:
    stored = 0
    async for batch in classifier.classify(keywords):
        cache.store(batch)
        stored += len(batch)
        log(f"Classified and cached {stored:,} of {len(keywords):,} new keywords")


@dg.asset(
    partitions_def=search_monthly,
    group_name="search",
    metadata=stored_table(KEYWORD_CATEGORY),
    kinds={"openai", "mysql"},
    owners=OWNERS,
    automation_condition=when_inputs_ready,
    retry_policy=network_retry,
    pool="llm",
    check_specs=check_specs("keyword_category", CATEGORY_CHECKS),
)
@transient_retries_only
def keyword_category(
    context: dg.AssetExecutionContext,
    classifier: KeywordClassifierResource,
    warehouse: WarehouseResource,
    thresholds: CheckThresholds,
    monthly_top_keyword: LakeFiles,
):
    """The category of every top keyword of the month, kept in the warehouse table
    `keyword_category`, which is also the cache: only keywords never classified are sent to
    the classifier, and each batch is stored as soon as it is answered."""
    keywords = pc.unique(monthly_top_keyword.dataset().to_table(columns=["keyword"])["keyword"])
    cache = KeywordCache(warehouse.connect())
    cached = set(cache.lookup(keywords)["keyword"].to_pylist())
    new = sorted(set(keywords.to_pylist()) - cached)
    context.log.info(
        f"{len(keywords):,} top keywords this month: {len(cached):,} cached, {len(new):,} to classify"
    )
    bot = classifier.build(log=context.log.info)
    asyncio.run(_classify_and_store(bot, new, cache, context.log.info))

    usage = bot.usage
    spent = {
        "classifier": f"{bot.source} ({bot.model})",
        "requests": usage.requests,
        "failed_requests": usage.failed_requests,
        "retries": usage.retries,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "off_list_labels_folded": usage.off_list_labels,
    }
    if usage.unanswered_keywords:
        raise dg.Failure(
            description=f"{len(usage.unanswered_keywords):,} keywords are still unclassified "
            "(request budget spent or attempts exhausted); what was answered is cached, so a "
            "re-run continues from there.",
            metadata={
                **spent,
                "unanswered": dg.MetadataValue.json(
                    [shortened(keyword) for keyword in usage.unanswered_keywords[:50]]
                ),
            },
            allow_retries=False,
        )
    categories = cache.lookup(keywords)
    yield from run_checks(
        context,
        "keyword_category",
        CATEGORY_CHECKS,
        KeywordCategories(keywords, categories, thresholds),
    )
    yield dg.MaterializeResult(
        metadata={
            **table_metadata(categories),
            **spent,
            "keywords": len(keywords),
            "from_cache": len(cached),
            "newly_classified": len(new),
            "categories": dg.MetadataValue.json(value_counts(categories, "category")),
        }
    )


@dg.asset(
    partitions_def=search_monthly,
    group_name="search",
    ins={"monthly_top_keyword": dg.AssetIn(partition_mapping=THIS_AND_PREVIOUS_MONTH)},
    deps=[dg.AssetDep("keyword_category", partition_mapping=THIS_AND_PREVIOUS_MONTH)],
    io_manager_key="warehouse_io_manager",
    metadata=stored_table(CUSTOMER_SEARCH_STATS, "month"),
    kinds={ENGINE_KIND, "mysql"},
    owners=OWNERS,
    automation_condition=when_inputs_ready,
    retry_policy=network_retry,
    pool="warehouse",
    check_specs=check_specs("customer_search_stats", STATS_CHECKS),
)
@transient_retries_only
def customer_search_stats(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    engine: ComputeEngine,
    monthly_top_keyword: LakeFiles,
):
    """Each user's top-keyword category this month against last month: Unchanged, Changed,
    New or Churned."""
    month = partition_date(context.partition_key)
    keywords = monthly_top_keyword.dataset().to_table(columns=["keyword"])["keyword"]
    categories = KeywordCache(warehouse.connect()).lookup(keywords)
    with engine.open() as opened:
        stats = opened.fetch(
            search.customer_search_stats(
                monthly_top_keyword, categories, month, previous_month(month)
            )
        )
        unclassified = sum(
            stats.filter(
                pc.field(f"keyword_{side}").is_valid() & pc.field(f"category_{side}").is_null()
            ).num_rows
            for side in ("prev", "cur")
        )
        if unclassified:
            raise dg.Failure(
                f"{unclassified:,} top keywords have no category yet: materialize "
                f"keyword_category for {month:%Y-%m} and the month before first",
                allow_retries=False,
            )
        yield from run_checks(
            context,
            "customer_search_stats",
            STATS_CHECKS,
            SearchStatsToStore(opened, stats=stats, warehouse=warehouse.connect()),
        )
    yield dg.Output(
        stats,
        metadata={
            "taste": dg.MetadataValue.json(value_counts(stats, "taste")),
            "dagster/column_lineage": STATS_LINEAGE,
            **engine_metadata(opened),
        },
    )
