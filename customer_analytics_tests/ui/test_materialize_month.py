"""Materializing a month of customer_content_stats from its asset page."""

import re

import dagster as dg

from customer_analytics_tests.ui.pages import (
    choose_partitions,
    expect,
    launch,
    open_asset,
    open_launch_dialog,
)

MONTH = "2022-04-01"


def test_materialize_a_month_from_the_asset_page(page, dagster_ui, april_days, screenshot):
    open_asset(page, "customer_content_stats")
    dialog = open_launch_dialog(page)
    expect(dialog).to_contain_text("customer_content_stats")
    choose_partitions(dialog, MONTH, "1 partition")
    screenshot("launch-dialog")
    run_prefix = launch(page, dialog)

    run = dagster_ui.wait_for_run(dagster_ui.run_by_prefix(run_prefix).run_id)
    assert run.status == dg.DagsterRunStatus.SUCCESS, dagster_ui.failure_messages(run.run_id)
    assert run.tags.get("dagster/partition") == MONTH
    assert MONTH in dagster_ui.materialized_partitions("customer_content_stats")

    # The partition's panel names the run that materialized it.
    page.get_by_role("tab", name="Partitions").click()
    page.get_by_placeholder("Filter by name").fill(MONTH)
    page.get_by_title(MONTH, exact=True).click()
    expect(page).to_have_url(re.compile(f"partition={MONTH}"))
    expect(page.get_by_text(run_prefix, exact=True)).to_be_visible()
    expect(page.get_by_text("dagster/row_count", exact=True)).to_be_visible()
    screenshot("partition-materialized")

    page.goto(f"/runs/{run.run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    screenshot("run")
