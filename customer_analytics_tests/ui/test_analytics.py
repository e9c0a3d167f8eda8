"""The analytics group of a month: its report opens in a browser with every chart, and the
Dagster UI shows an analytics table's chart from its materialization's metadata."""

import re
from pathlib import Path

import dagster as dg
import pytest

from customer_analytics.defs.analytics import charts
from customer_analytics_tests.ui.pages import Locator, expect, open_asset

MONTH = "2022-04-01"
ANALYTICS = (
    "customer_segments",
    "customer_clusters",
    "content_engagement",
    "churn_risk",
    "viewing_trends",
    "category_correlation",
)
# The report's charts, by file name, with the pixel size each is drawn at.
REPORT_CHARTS = {
    "viewing_time_per_category": charts.POPULARITY_SIZE,
    "segments_by_cluster": charts.SEGMENTS_SIZE,
    "correlation_of_categories": charts.CORRELATION_SIZE,
    "daily_viewing_per_category": charts.TREND_SIZE,
}
# The report's tables, captioned after the assets.
REPORT_TABLES = {name.replace("_", " ").capitalize() for name in ANALYTICS}
# What the UI shows of a Markdown image: its alt text names it.
UI_CHART = "Viewing time per category"
DATA_URI = re.compile(r"^data:image/png;base64,")


def natural_size(image: Locator) -> tuple[int, int]:
    """The decoded pixel size of an <img>, once the browser is done loading it; (0, 0) when the
    picture could not be loaded or decoded."""
    expect(image).to_have_js_property("complete", True)
    width, height = image.evaluate("image => [image.naturalWidth, image.naturalHeight]")
    return width, height


@pytest.fixture(scope="module")
def april_analytics(dagster_ui, april_days, materialize) -> dg.AssetMaterialization:
    """April's analytics group, on April's daily chain; returns content_engagement's
    materialization."""
    materialize(ANALYTICS, partition_key=MONTH)
    for asset in ANALYTICS:
        assert MONTH in dagster_ui.materialized_partitions(asset), asset
    with dagster_ui.instance() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("content_engagement"))
    assert event is not None and event.asset_materialization is not None
    assert event.asset_materialization.partition == MONTH
    return event.asset_materialization


def test_the_month_report_shows_every_chart_at_its_size(
    page, dagster_ui, april_analytics, screenshot
):
    report = Path(april_analytics.metadata["report"].value)
    assert report == Path(dagster_ui.env["REPORT_DIR"]) / "2022-04" / "index.html"

    page.goto(report.as_uri())
    expect(page).to_have_title("Customer analytics, April 2022")
    images = page.locator("img")
    expect(images).to_have_count(len(REPORT_CHARTS))
    sources = [image.get_attribute("src") for image in images.all()]
    assert sorted(sources) == sorted(f"{name}.png" for name in REPORT_CHARTS)
    for name, (width, height) in REPORT_CHARTS.items():
        image = page.locator(f'img[src="{name}.png"]')
        expect(image).to_be_visible()
        expect(image).to_have_attribute("width", str(width))
        expect(image).to_have_attribute("height", str(height))
        loaded = natural_size(image)
        assert loaded[0] > 0, f"{name}.png did not load"
        assert loaded == (width, height), f"{name}.png is {loaded[0]}x{loaded[1]}"

    # Every table of the month under its caption, with its header and rows.
    captions = page.locator("table > caption")
    expect(captions).to_have_count(len(REPORT_TABLES))
    assert set(captions.all_inner_texts()) == REPORT_TABLES
    for caption in REPORT_TABLES:
        table = page.locator("table").filter(has=page.get_by_text(caption, exact=True))
        expect(table.locator("thead th").first).to_be_visible()
        expect(table.locator("tbody tr").first).to_be_visible()
    screenshot("report")


def test_the_asset_page_shows_the_chart_of_its_latest_materialization(
    page, dagster_ui, april_analytics, screenshot
):
    assert april_analytics.metadata["chart"].value.startswith(f"![{UI_CHART}](data:image/png")
    open_asset(page, "content_engagement")

    # The partition's panel shows the metadata of its latest materialization.
    page.get_by_role("tab", name="Partitions").click()
    page.get_by_placeholder("Filter by name").fill(MONTH)
    page.get_by_title(MONTH, exact=True).click()
    expect(page).to_have_url(re.compile(f"partition={MONTH}"))

    # A long Markdown value is a link that opens it, rendered, in a dialog titled by its label.
    chart_row = page.get_by_role("row").filter(
        has=page.get_by_role("cell", name="chart", exact=True)
    )
    chart_row.last.get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog").filter(has=page.get_by_text("chart", exact=True))
    expect(dialog).to_be_visible()
    image = dialog.get_by_role("img", name=UI_CHART)
    expect(image).to_be_visible()
    expect(image).to_have_attribute("src", DATA_URI)
    width, height = natural_size(image)
    assert width > 0, "the chart's data URI did not load"
    assert (width, height) == charts.POPULARITY_SIZE
    screenshot("chart-dialog")
