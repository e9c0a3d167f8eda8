"""A backfill of a range of daily partitions, launched from the lineage graph."""

import re

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus

from customer_analytics_tests.ui.pages import (
    choose_partitions,
    expect,
    filter_graph,
    graph_node,
    launch,
    open_launch_dialog,
    open_lineage,
)

ASSETS = ("raw_log_content", "content_quarantine", "daily_pivot")
# Days no other test materializes, so what is there afterwards is this backfill's work.
DAYS = {f"2022-05-{day:02d}" for day in range(1, 6)}
RANGE = "[2022-05-01...2022-05-05]"


def test_backfill_a_range_of_days_from_the_ui(page, dagster_ui, screenshot):
    open_lineage(page)
    filter_graph(page, " or ".join(f'key:"{asset}"' for asset in ASSETS))
    for asset in ASSETS:
        expect(graph_node(page, asset)).to_be_visible()

    dialog = open_launch_dialog(page)
    expect(dialog).to_contain_text(f"Launch runs to materialize {len(ASSETS)} assets")
    choose_partitions(dialog, RANGE, f"{len(DAYS)} partitions")
    screenshot("launch-dialog")
    backfill_id = launch(page, dialog)

    backfill = dagster_ui.wait_for_backfill(backfill_id)
    runs = dagster_ui.runs_of_backfill(backfill_id)
    failures = "\n".join(dagster_ui.failure_messages(run.run_id) for run in runs)
    assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS, failures
    for asset in ASSETS:
        assert dagster_ui.materialized_partitions(asset) >= DAYS, asset
    # BackfillPolicy.single_run: the whole range is one run.
    assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS]

    page.goto("/overview/backfills")
    # The icon's name comes first in the link's name: "run_with_subruns <id>".
    link = page.get_by_role("link", name=re.compile(rf"\b{backfill_id}$"))
    row = page.locator("div").filter(has=link).filter(has_text="Success").last
    expect(row).to_be_visible()
    expect(row).to_contain_text(f"{len(DAYS)} partitions")
    screenshot("backfills")

    link.click()
    expect(page.get_by_text("Succeeded", exact=True).first).to_be_visible()
    expect(page.get_by_text("2022-05-01...2022-05-05")).to_be_visible()
    screenshot("backfill")
