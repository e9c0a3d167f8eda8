"""A blocking check that fails on bad data shows as failed on its asset's Checks tab."""

import re
from datetime import date

import dagster as dg

from customer_analytics.sample_data import content_path
from customer_analytics_tests.ui.pages import (
    choose_partitions,
    expect,
    launch,
    open_asset,
    open_launch_dialog,
)

CHECKED_ASSET = "raw_log_content"
# An ERROR check: more than half of a day's lines unreadable means it is not the export.
FAILING_CHECK = "file_schema"
# A content day outside the sample data, so nothing else reads it.
BAD_DAY = date(2022, 6, 1)


def test_a_failed_check_is_shown_on_its_asset(page, dagster_ui, definitions, screenshot):
    check = dg.AssetCheckKey(dg.AssetKey(CHECKED_ASSET), FAILING_CHECK)
    assert check in definitions.resolve_asset_graph().asset_check_keys, (
        f"the definitions have no check {check.to_user_string()}"
    )
    path = content_path(dagster_ui.raw, BAD_DAY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this line is not JSON\n" * 50)

    open_asset(page, CHECKED_ASSET)
    dialog = open_launch_dialog(page)
    choose_partitions(dialog, BAD_DAY.isoformat(), "1 partition")
    run_prefix = launch(page, dialog)

    run = dagster_ui.wait_for_run(dagster_ui.run_by_prefix(run_prefix).run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE
    evaluation = next(
        e for e in dagster_ui.check_evaluations(run.run_id) if e.check_name == FAILING_CHECK
    )
    assert not evaluation.passed
    assert evaluation.metadata["worst_day"].value == BAD_DAY.isoformat()
    # Blocking: the day was not stored.
    assert BAD_DAY.isoformat() not in dagster_ui.materialized_partitions(CHECKED_ASSET)

    page.get_by_role("tab", name="Checks").click()
    page.get_by_placeholder("Filter checks").fill(FAILING_CHECK)
    # The list item: the check's name and its status under it.
    item = page.locator("span").filter(
        has=page.get_by_title(FAILING_CHECK, exact=True), has_text="Failed"
    )
    expect(item.last).to_be_visible()
    item.last.click()
    expect(page).to_have_url(re.compile(f"checkDetail={FAILING_CHECK}"))
    result = page.locator("div").filter(has_text=re.compile(r"^Evaluation result\s*Failed$"))
    expect(result.last).to_be_visible()
    worst_day = page.get_by_role("row").filter(has_text="worst_day")
    expect(worst_day).to_contain_text(BAD_DAY.isoformat())
    screenshot("failed-check")
