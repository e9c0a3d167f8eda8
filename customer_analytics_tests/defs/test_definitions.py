"""What the Dagster UI shows of each asset: group, partitions, kinds, columns, checks, owners and
automation, against the design card. Every expected value is written out here."""

import json
import os
import subprocess
import sys
from datetime import timedelta

import dagster as dg
import pytest

from customer_analytics.definitions import defs
from customer_analytics_tests.conftest import PIVOT_COLUMNS, PROFILE_COLUMNS

CONTENT_DAILY = dg.DailyPartitionsDefinition(start_date="2022-04-01")
CONTENT_MONTHLY = dg.MonthlyPartitionsDefinition(start_date="2022-04-01")
SEARCH_DAILY = dg.DailyPartitionsDefinition(start_date="2022-06-01")
SEARCH_MONTHLY = dg.MonthlyPartitionsDefinition(start_date="2022-06-01")
WEB_HOURLY = dg.HourlyPartitionsDefinition(start_date="2022-04-01-00:00")

# The raw days run every night at 02:30; everything downstream once its inputs are complete.
NIGHTLY = dg.AutomationCondition.on_cron("30 2 * * *")
EAGER = dg.AutomationCondition.eager()

ASSETS = {
    "raw_log_content": "content",
    "content_quarantine": "content",
    "daily_pivot": "content",
    "customer_content_stats": "content",
    "raw_log_search": "search",
    "search_quarantine": "search",
    "monthly_top_keyword": "search",
    "keyword_category": "search",
    "customer_search_stats": "search",
    "customer_segments": "analytics",
    "customer_clusters": "analytics",
    "content_engagement": "analytics",
    "churn_risk": "analytics",
    "viewing_trends": "analytics",
    "category_correlation": "analytics",
    "web_event_batches": "web",
    "raw_web_events": "web",
    "web_quarantine": "web",
    "web_extra_columns": "web",
    "web_sessions": "web",
    "crm_customers": "web",
    "customer_loyalty": "web",
}

PARTITIONS = {
    "raw_log_content": CONTENT_DAILY,
    "content_quarantine": CONTENT_DAILY,
    "daily_pivot": CONTENT_DAILY,
    "customer_content_stats": CONTENT_MONTHLY,
    "raw_log_search": SEARCH_DAILY,
    "search_quarantine": SEARCH_DAILY,
    "monthly_top_keyword": SEARCH_MONTHLY,
    "keyword_category": SEARCH_MONTHLY,
    "customer_search_stats": SEARCH_MONTHLY,
    "customer_segments": CONTENT_MONTHLY,
    "customer_clusters": CONTENT_MONTHLY,
    "content_engagement": CONTENT_MONTHLY,
    "churn_risk": CONTENT_MONTHLY,
    "viewing_trends": CONTENT_MONTHLY,
    "category_correlation": CONTENT_MONTHLY,
    "web_event_batches": None,
    "raw_web_events": WEB_HOURLY,
    "web_quarantine": WEB_HOURLY,
    "web_extra_columns": WEB_HOURLY,
    "web_sessions": CONTENT_DAILY,
    "crm_customers": None,
    "customer_loyalty": CONTENT_MONTHLY,
}

# With the default engine; the engine's kind is the one COMPUTE_ENGINE names.
KINDS = {
    "raw_log_content": {"parquet", "duckdb"},
    "content_quarantine": {"parquet", "duckdb"},
    "daily_pivot": {"duckdb", "parquet"},
    "customer_content_stats": {"duckdb", "mysql", "csv"},
    "raw_log_search": {"parquet", "duckdb"},
    "search_quarantine": {"parquet", "duckdb"},
    "monthly_top_keyword": {"duckdb", "parquet"},
    "keyword_category": {"openai", "mysql"},
    "customer_search_stats": {"duckdb", "mysql"},
    "customer_segments": {"duckdb", "mysql"},
    "customer_clusters": {"duckdb", "mysql"},
    "content_engagement": {"duckdb", "mysql"},
    "churn_risk": {"duckdb", "mysql"},
    "viewing_trends": {"duckdb", "mysql"},
    "category_correlation": {"duckdb", "mysql"},
    "web_event_batches": {"http", "json"},
    "raw_web_events": {"parquet", "duckdb"},
    "web_quarantine": {"parquet", "duckdb"},
    "web_extra_columns": {"parquet", "duckdb"},
    "web_sessions": {"duckdb", "parquet"},
    "crm_customers": {"csv", "mysql"},
    "customer_loyalty": {"duckdb", "mysql"},
}

COLUMNS = {
    "raw_log_content": [
        "date",
        "Contract",
        "Mac",
        "AppName",
        "category",
        "TotalDuration",
        "_id",
    ],
    "content_quarantine": ["date", "line_number", "reason", "raw_line"],
    "daily_pivot": PIVOT_COLUMNS,
    "customer_content_stats": PROFILE_COLUMNS,
    "raw_log_search": [
        "date",
        "eventID",
        "datetime",
        "user_id",
        "keyword",
        "raw_keyword",
        "platform",
        "proxy_isp",
        "networkType",
    ],
    "search_quarantine": ["date", "row_number", "reason", "record"],
    "monthly_top_keyword": ["month", "user_id", "keyword", "search_count", "total_searches"],
    "keyword_category": ["keyword", "category", "source", "model", "classified_at"],
    "customer_search_stats": [
        "month",
        "user_id",
        "keyword_prev",
        "category_prev",
        "keyword_cur",
        "category_cur",
        "taste",
    ],
    "customer_segments": ["month", "activity_level", "MostWatch", "customers", "share"],
    "customer_clusters": [
        "month",
        "cluster",
        "customers",
        "share",
        "hours",
        "active_days",
        "share_Giai_Tri",
        "share_Phim_Truyen",
        "share_The_Thao",
        "share_Thieu_Nhi",
        "share_Truyen_Hinh",
        "description",
    ],
    "content_engagement": [
        "month",
        "category",
        "total_seconds",
        "viewers",
        "mean_seconds",
        "median_seconds",
        "stddev_seconds",
        "q1_seconds",
        "q3_seconds",
        "p95_seconds",
        "most_watch_customers",
    ],
    "churn_risk": [
        "month",
        "Contract",
        "active_days",
        "first_half_days",
        "last_days_active",
        "score",
        "reason",
    ],
    "viewing_trends": ["date", "category", "total_seconds", "viewers"],
    "category_correlation": ["month", "category_a", "category_b", "pearson"],
    "raw_web_events": [
        "event_time",
        "event_epoch",
        "session_id",
        "user_id",
        "is_anonymous",
        "event_type",
        "page",
        "device",
        "browser",
        "timestamp_unit",
        "is_late",
        "batch",
        "position",
    ],
    "web_quarantine": ["hour_start", "batch", "position", "reason", "record"],
    "web_extra_columns": [
        "hour_start",
        "batch",
        "position",
        "session_id",
        "extra_fields",
        "record",
    ],
    "web_sessions": [
        "date",
        "session_id",
        "user_id",
        "is_anonymous",
        "session_start",
        "session_end",
        "duration_seconds",
        "events",
        "unique_pages",
        "first_event",
        "last_event",
        "device",
        "browser",
        "interactions",
        "engagement_score",
    ],
    "crm_customers": ["customer_id", "contract", "loyalty_tier", "rating"],
    "customer_loyalty": [
        "month",
        "customer_id",
        "contract",
        "loyalty_tier",
        "rating",
        "sessions",
        "events",
        "engagement_score",
        "engagement_per_session",
        "loyalty_interactions",
        "loyalty_rate_pct",
    ],
}

CHECKS = {
    "raw_log_content": {
        "file_schema",
        "quarantine_share",
        "rejected_share",
        "unknown_app_share",
        "durations_over_a_day",
        "daily_volume",
    },
    "content_quarantine": set(),
    "daily_pivot": {"one_row_per_date_contract", "non_negative_totals", "reconciles_with_raw"},
    "customer_content_stats": {
        "warehouse_schema",
        "contracts_unique",
        "active_days_in_month",
        "most_watch_and_taste_consistent",
        "totals_match_daily_pivots",
    },
    "raw_log_search": {"user_ids_present", "quarantine_share", "rejected_share", "daily_volume"},
    "search_quarantine": set(),
    "monthly_top_keyword": {"one_top_keyword_per_user"},
    "keyword_category": {"categories_valid", "other_share"},
    "customer_search_stats": {"warehouse_schema", "taste_consistent"},
    "customer_segments": {"every_profile_in_one_segment", "warehouse_schema"},
    "customer_clusters": {"every_profile_in_one_cluster", "warehouse_schema"},
    "content_engagement": {
        "one_row_per_category",
        "quantiles_in_order",
        "totals_match_the_pivots",
        "warehouse_schema",
    },
    "churn_risk": {"scores_in_range", "warehouse_schema"},
    "viewing_trends": {"totals_match_the_pivots", "warehouse_schema"},
    "category_correlation": {"correlations_consistent", "warehouse_schema"},
    "web_event_batches": set(),
    "raw_web_events": {
        "required_fields",
        "timestamp_sanity",
        "quarantine_share",
        "rejected_share",
        "late_event_share",
    },
    "web_quarantine": set(),
    "web_extra_columns": set(),
    "web_sessions": {"sessions_match_events"},
    "crm_customers": {"crm_rows_valid", "warehouse_schema"},
    "customer_loyalty": {
        "crm_join_accounted",
        "crm_coverage",
        "loyalty_rate_in_range",
        "warehouse_schema",
    },
}

AUTOMATION = {
    "raw_log_content": NIGHTLY,
    "content_quarantine": NIGHTLY,
    "daily_pivot": EAGER,
    "customer_content_stats": EAGER,
    "raw_log_search": NIGHTLY,
    "search_quarantine": NIGHTLY,
    "monthly_top_keyword": EAGER,
    "keyword_category": EAGER,
    "customer_search_stats": EAGER,
    "customer_segments": EAGER,
    "customer_clusters": EAGER,
    "content_engagement": EAGER,
    "churn_risk": EAGER,
    "viewing_trends": EAGER,
    "category_correlation": EAGER,
    "web_event_batches": dg.AutomationCondition.on_cron("*/10 * * * *"),
    "raw_web_events": EAGER,
    "web_quarantine": EAGER,
    "web_extra_columns": EAGER,
    "web_sessions": EAGER,
    "crm_customers": NIGHTLY,
    "customer_loyalty": EAGER,
}


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


def _node(definitions: dg.Definitions, asset: str):
    return definitions.resolve_asset_graph().get(dg.AssetKey(asset))


def test_assets_have_the_plain_names_and_groups_of_the_design(definitions):
    graph = definitions.resolve_asset_graph()
    assert {
        key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()
    } == ASSETS


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_partitions(definitions, asset):
    assert _node(definitions, asset).partitions_def == PARTITIONS[asset]


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_kinds(definitions, asset):
    assert set(_node(definitions, asset).kinds) == KINDS[asset]


@pytest.fixture(scope="module")
def loaded_on_spark() -> dict:
    """The asset kinds and the runs' executor of the definitions loaded with
    COMPUTE_ENGINE=spark (in a process of their own: the engine is read at import)."""
    program = (
        "import json; from customer_analytics.definitions import defs; d = defs(); "
        "graph = d.resolve_asset_graph(); print(json.dumps({'kinds': {k.to_user_string(): "
        "sorted(graph.get(k).kinds) for k in graph.get_all_asset_keys()}, 'executor': "
        "d.resolve_implicit_global_asset_job_def().executor_def.name}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program],
        env={**os.environ, "COMPUTE_ENGINE": "spark"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(loaded.stdout.strip().splitlines()[-1])


def test_kinds_name_the_engine_of_compute_engine(loaded_on_spark):
    """Loaded with COMPUTE_ENGINE=spark, every asset that said duckdb says spark instead."""
    expected = {
        asset: sorted("spark" if kind == "duckdb" else kind for kind in asset_kinds)
        for asset, asset_kinds in KINDS.items()
    }
    assert loaded_on_spark["kinds"] == expected


def test_a_spark_run_keeps_its_steps_in_one_process(definitions, loaded_on_spark):
    """On Spark a run's steps share one driver (started once per run); on DuckDB each step is
    a process of its own unless the run's config says `in_process`, as Dagster's default."""
    assert loaded_on_spark["executor"] == "in_process"
    executor = definitions.resolve_implicit_global_asset_job_def().executor_def
    assert executor is dg.multi_or_in_process_executor


@pytest.mark.parametrize("asset", sorted(COLUMNS))
def test_column_schema_names_the_columns_in_order_each_described(definitions, asset):
    columns = _node(definitions, asset).metadata["dagster/column_schema"].columns
    assert [column.name for column in columns] == COLUMNS[asset]
    assert [column.name for column in columns if not column.description] == []


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_checks_sit_beside_their_assets(definitions, asset):
    node = _node(definitions, asset)
    assert {key.name for key in node.check_keys} == CHECKS[asset]


def test_no_check_belongs_to_an_asset_outside_the_design(definitions):
    graph = definitions.resolve_asset_graph()
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert checks == {(asset, name) for asset, names in CHECKS.items() for name in names}


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_every_asset_is_documented_owned_and_automated(definitions, asset):
    node = _node(definitions, asset)
    assert node.description and len(node.description) > 30
    assert node.owners == ["team:data-engineering"]
    assert node.automation_condition == AUTOMATION[asset]


def test_jobs_and_sensors(definitions):
    assert {job.name for job in definitions.jobs} == {
        "content_daily_job",
        "search_daily_job",
        "web_hourly_job",
    }
    sensors = {sensor.name: sensor for sensor in definitions.sensors}
    assert set(sensors) == {
        "automation",
        "new_content_files",
        "new_search_folders",
        "new_web_hours",
        "check_failure_alerts",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())
    assert not definitions.schedules  # one way of scheduling: AutomationCondition


def test_the_backfill_policy_of_daily_assets_is_a_single_run(definitions):
    graph = definitions.resolve_asset_graph()
    for asset in ("raw_log_content", "daily_pivot", "raw_log_search", "raw_web_events"):
        assert graph.get(dg.AssetKey(asset)).backfill_policy == dg.BackfillPolicy.single_run()


def test_network_steps_retry_and_warehouse_writers_share_a_pool(definitions):
    for asset in ("raw_log_content", "customer_content_stats", "keyword_category"):
        assets_def = definitions.get_assets_def(dg.AssetKey(asset))
        assert assets_def.op.retry_policy is not None
    pools = {
        asset: definitions.get_assets_def(dg.AssetKey(asset)).op.pool
        for asset in ("customer_content_stats", "customer_search_stats", "keyword_category")
    }
    assert pools == {
        "customer_content_stats": "warehouse",
        "customer_search_stats": "warehouse",
        "keyword_category": "llm",
    }


DAILY_ASSETS = (
    "raw_log_content",
    "content_quarantine",
    "daily_pivot",
    "raw_log_search",
    "search_quarantine",
)


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_daily_assets_are_late_after_six_and_monthly_ones_have_no_deadline(definitions, asset):
    policy = definitions.resolve_asset_graph().get(dg.AssetKey(asset)).freshness_policy
    if asset in DAILY_ASSETS:
        assert policy == dg.FreshnessPolicy.cron(
            deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=4)
        )
    else:
        assert policy is None
