"""What the Dagster UI shows: every asset documented, grouped, owned, typed and automated."""

import dagster as dg
import pytest

from customer_analytics.definitions import defs

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
}


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


def test_assets_have_the_plain_names_and_groups_of_the_design(definitions):
    graph = definitions.resolve_asset_graph()
    assert {
        key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()
    } == ASSETS


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_every_asset_is_documented_owned_typed_and_automated(definitions, asset):
    node = definitions.resolve_asset_graph().get(dg.AssetKey(asset))
    assert node.description and len(node.description) > 30
    assert node.owners == ["team:data-engineering"]
    assert node.kinds
    assert node.automation_condition is not None
    columns = node.metadata["dagster/column_schema"].columns
    assert columns and all(column.description for column in columns)


def test_checks_sit_beside_their_assets(definitions):
    graph = definitions.resolve_asset_graph()
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert ("daily_pivot", "reconciles_with_raw") in checks
    assert ("customer_content_stats", "warehouse_schema") in checks
    assert ("keyword_category", "categories_valid") in checks
    assert {asset for asset, _ in checks} >= {
        "raw_log_content",
        "daily_pivot",
        "customer_content_stats",
        "raw_log_search",
        "monthly_top_keyword",
        "keyword_category",
        "customer_search_stats",
    }


def test_jobs_and_sensors(definitions):
    assert {job.name for job in definitions.jobs} == {"content_daily_job", "search_daily_job"}
    sensors = {sensor.name: sensor for sensor in definitions.sensors}
    assert set(sensors) == {
        "automation",
        "new_content_files",
        "new_search_folders",
        "check_failure_alerts",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())
    assert not definitions.schedules  # one way of scheduling: AutomationCondition


def test_the_backfill_policy_of_daily_assets_is_a_single_run(definitions):
    graph = definitions.resolve_asset_graph()
    for asset in ("raw_log_content", "daily_pivot", "raw_log_search"):
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
