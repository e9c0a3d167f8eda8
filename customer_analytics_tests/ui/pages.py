"""What a user does in the Dagster UI, written once: find an asset, open the launch dialog, pick
partitions, launch. Selectors are roles and visible text, looked up in this Dagster version's DOM;
when the markup changes, this is the one file to adapt."""

import contextlib
import re

import pytest

from customer_analytics_tests.ui.stack import in_ci

if not in_ci():
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

# The launch toast names the run by its first 8 characters, a backfill by its whole id.
LAUNCHED = re.compile(r"(Launched run|Created backfill) ([0-9a-z]+)")


def truncated(text: str) -> re.Pattern:
    """The accessible name of a label that may be truncated in the middle: the UI renders the
    text twice, once hidden to measure it, and both count in the name."""
    escaped = re.escape(text)
    return re.compile(rf"^{escaped}(\s+{escaped})?$")


def open_lineage(page: Page) -> None:
    page.goto("/")
    # Icon names are part of the links' accessible names ("lineage Lineage").
    page.get_by_role("link", name=re.compile(r"\bLineage$")).click()
    expect(page.get_by_role("textbox", name="Search and filter assets")).to_be_attached()


def expand_all_groups(page: Page) -> None:
    """The graph's context menu, opened on empty canvas just below the filter bar."""
    bar = page.get_by_role("textbox", name="Search and filter assets").bounding_box()
    assert bar is not None
    page.mouse.click(bar["x"], bar["y"] + 150, button="right")
    page.get_by_role("menuitem", name=re.compile("Expand all groups")).click()


def filter_graph(page: Page, selection: str) -> None:
    """Types an asset selection into the graph's filter bar."""
    editor = page.get_by_role("textbox", name="Search and filter assets")
    # The bar is a code editor: its input is a hidden textarea under the rendered lines, which
    # take the click. Focusing it is what that click does.
    editor.focus()
    page.keyboard.type(selection, delay=10)
    page.keyboard.press("Enter")


def graph_node(page: Page, asset: str) -> Locator:
    # Names are rendered twice, once hidden to measure truncation: keep the visible one.
    return page.get_by_text(asset, exact=True).filter(visible=True).first


def open_asset(page: Page, asset: str) -> None:
    """From the catalog, as a user would: the asset's link in the table of assets."""
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"\bCatalog$")).click()
    page.get_by_role("link", name=truncated(asset)).first.click()
    expect(page).to_have_url(re.compile(f"/assets/{asset}"))


def open_launch_dialog(page: Page) -> Locator:
    """Clicks Materialize; confirms the extra assets of a multi-asset when the UI asks."""
    page.get_by_role("button", name=re.compile(r"\bMaterialize")).first.click()
    launch = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
    extra = page.get_by_role("dialog").filter(has_text="Additional assets will be materialized")
    expect(launch.or_(extra)).to_be_visible()
    if extra.is_visible():
        extra.get_by_role("button", name="Confirm").click()
    expect(launch).to_be_visible()
    return launch


def choose_partitions(dialog: Locator, selection: str, expected: str) -> None:
    """Types `selection` (`2022-04-01`, `[2022-05-01...2022-05-05]`) into the partition input.

    The dialog first offers only the last 90 days; these partitions are older."""
    partitions = dialog.get_by_role("textbox")
    expect(partitions).to_be_visible()
    # The offer shows up once the partitions' status has loaded, a moment after the input.
    with contextlib.suppress(PlaywrightTimeoutError):  # all partitions are recent: no offer
        dialog.get_by_role("button", name="Show all partitions").click(timeout=5_000)
    partitions.click()
    partitions.fill("")
    partitions.press_sequentially(selection, delay=10)
    partitions.press("Enter")
    expect(dialog.get_by_text(expected, exact=True)).to_be_visible()


def launch(page: Page, dialog: Locator) -> str:
    """Clicks "Launch 1 run" / "Launch backfill" and returns the id the toast announces."""
    dialog.get_by_role("button", name=re.compile(r"\bLaunch\b")).click()
    toast = page.get_by_text(LAUNCHED).first
    expect(toast).to_be_visible()
    match = LAUNCHED.search(toast.inner_text())
    assert match, toast.inner_text()
    return match.group(2)
