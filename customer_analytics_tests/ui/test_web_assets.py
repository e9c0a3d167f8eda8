"""The web group is readable in the UI before anything of it has run: its seven assets in the
catalog, the columns of web_sessions from its definition and the checks of its assets."""

import re

import dagster as dg
import pytest

from customer_analytics_tests.ui.pages import Page, expect, filter_graph, truncated

GROUP = "web"
ASSETS = (
    "web_event_batches",
    "raw_web_events",
    "web_quarantine",
    "web_extra_columns",
    "web_sessions",
    "crm_customers",
    "customer_loyalty",
)
# A few columns of web_sessions with the type and description its schema gives them.
SESSION_COLUMNS = {
    "session_start": ("timestamp[us]", "First event, UTC"),
    "first_event": ("string", "Type of the first event by time"),
    "engagement_score": ("double", "Sum of the event types' weights"),
}
CHECKS = {
    "web_sessions": ("sessions_match_events",),
    "raw_web_events": ("required_fields", "timestamp_sanity", "late_event_share"),
    "customer_loyalty": ("crm_join_accounted",),
}


@pytest.fixture
def nothing_of_the_group_ran(dagster_ui, definitions) -> None:
    """What the UI shows can only come from the definitions: no asset of the group has been
    materialized on this instance (the UI suite shares it)."""
    graph = definitions.resolve_asset_graph()
    grouped = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name == GROUP
    }
    assert grouped == set(ASSETS)
    for asset, checks in CHECKS.items():
        for check in checks:
            key = dg.AssetCheckKey(dg.AssetKey(asset), check)
            assert key in graph.asset_check_keys, f"no check {key.to_user_string()}"
    with dagster_ui.instance() as instance:
        for asset in ASSETS:
            event = instance.get_latest_materialization_event(dg.AssetKey(asset))
            assert event is None, f"{asset} was materialized before this test"


def open_group_in_catalog(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"\bCatalog$")).click()
    # The catalog is a virtual list in name order: unfiltered, the web assets (w…) are below
    # the window and not rendered, so the group is selected first.
    filter_graph(page, f'group:"{GROUP}"')


def open_web_asset(page: Page, asset: str) -> None:
    open_group_in_catalog(page)
    page.get_by_role("link", name=truncated(asset)).first.click()
    expect(page).to_have_url(re.compile(f"/assets/{asset}"))


def expect_checks_listed(page: Page, checks: tuple[str, ...]) -> None:
    page.get_by_role("tab", name="Checks").click()
    for check in checks:
        page.get_by_placeholder("Filter checks").fill(check)
        item = page.locator("span").filter(
            has=page.get_by_title(check, exact=True), has_text="Not Evaluated"
        )
        expect(item.last, f"{check} on the Checks tab").to_be_visible()


def test_the_catalog_lists_the_seven_assets_of_the_group(
    page, nothing_of_the_group_ran, screenshot
):
    open_group_in_catalog(page)
    for asset in ASSETS:
        link = page.get_by_role("link", name=truncated(asset)).first
        expect(link, f"{asset} in the catalog").to_be_visible()
    # Each row links its group: seven rows, none of another group.
    expect(page.get_by_role("link", name=re.compile(rf"\b{GROUP}$"))).to_have_count(len(ASSETS))
    screenshot("web-catalog")


def test_columns_and_checks_are_shown_from_the_definitions(
    page, nothing_of_the_group_ran, screenshot
):
    open_web_asset(page, "web_sessions")
    expect(page.get_by_text("Columns", exact=True)).to_be_visible()
    for column, (type_, description) in SESSION_COLUMNS.items():
        row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=column, exact=True))
        expect(row, f"the column {column}").to_be_visible()
        expect(row).to_contain_text(type_)
        expect(row).to_contain_text(description)
    screenshot("web-sessions-columns")
    expect_checks_listed(page, CHECKS["web_sessions"])

    for asset in ("raw_web_events", "customer_loyalty"):
        open_web_asset(page, asset)
        expect_checks_listed(page, CHECKS[asset])
        screenshot(f"{asset}-checks")
