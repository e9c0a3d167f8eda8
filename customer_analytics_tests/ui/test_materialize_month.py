"""Materializing a month of customer_content_stats from its asset page."""

import re
import subprocess

import dagster as dg
import pytest

from customer_analytics_tests.ui.pages import (
    choose_partitions,
    expect,
    launch,
    open_asset,
    open_launch_dialog,
)
from customer_analytics_tests.ui.stack import BIN, MODULE

MONTH = "2022-04-01"
APRIL = {f"2022-04-{day:02d}" for day in range(1, 31)}
DAILY = "raw_log_content,content_quarantine,daily_pivot"


@pytest.fixture(scope="module")
def april_days(dagster_ui):
    """The daily upstream of April, through the CLI the README documents (one run)."""
    done = subprocess.run(
        [
            str(BIN / "dagster"),
            *f"asset materialize -m {MODULE} --select {DAILY}".split(),
            "--partition-range",
            "2022-04-01...2022-04-30",
        ],
        env=dagster_ui.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert dagster_ui.materialized_partitions("daily_pivot") >= APRIL


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
