"""Fixtures of the browser tests: a small landing zone, a Dagster instance with the webserver and
the daemon running on it (the embedded stack: local files and DuckDB), and Chromium driven by
Playwright.

Everything heavy is session-scoped: the servers take seconds to start and the browser is shared;
each test gets its own browser context, so cookies and local storage do not leak between tests.
"""

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest

from customer_analytics.sample_data import generate
from customer_analytics.settings import REPO_ROOT
from customer_analytics_tests.conftest import range_tags
from customer_analytics_tests.fixtures.instances import memory_folder
from customer_analytics_tests.ui.stack import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DagsterUI,
    free_port,
    in_ci,
    wait_for,
)

VIEWPORT = {"width": 1600, "height": 1000}
ACTION_TIMEOUT_MS = 30_000
APRIL = {f"2022-04-{day:02d}" for day in range(1, 31)}
DAILY = ("raw_log_content", "content_quarantine", "daily_pivot")
# The runs launched from the UI wait in the queue until the daemon's next look: every second
# here, not every five, since the tests wait for each of them.
INSTANCE_CONFIG = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ui: drives the Dagster UI in a real browser (slow)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.ui)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """On a failure, keep what a human needs to see why: the page as it was and the server logs."""
    report = yield
    if report.failed and report.when in ("call", "setup"):
        fixtures = getattr(item, "funcargs", {})
        page, tmp_path = fixtures.get("page"), fixtures.get("tmp_path")
        if page is not None and tmp_path is not None:
            path = tmp_path / "failure.png"
            try:
                page.screenshot(path=path, full_page=True)
                report.sections.append(("failure screenshot", str(path)))
            except Exception as error:  # the page may be what broke
                report.sections.append(("failure screenshot", f"not taken: {error}"))
        ui = fixtures.get("dagster_ui")
        if ui is not None:
            report.sections.append(("dagster webserver and daemon logs (tail)", ui.log_tails()))
    return report


@pytest.fixture(scope="session")
def ui_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui")


@pytest.fixture(scope="session")
def landing_zone(ui_root: Path) -> Path:
    """April 1 to May 10 of viewing logs and the search days, a few hundred lines a day."""
    raw = ui_root / "raw"
    generate(
        raw,
        content_days=40,
        lines_per_day=300,
        search=True,
        search_users=50,
        searches_per_day=100,
        verbose=False,
    )
    return raw


@pytest.fixture(scope="session")
def project_variables(ui_root: Path, landing_zone: Path) -> Iterator[dict[str, str]]:
    """DAGSTER_HOME (in memory: see fixtures/instances.py) and the project's variables for the
    embedded stack."""
    with memory_folder() as home:
        (home / "dagster.yaml").write_text(INSTANCE_CONFIG)
        yield {
            "DAGSTER_HOME": str(home),
            "RAW_DATA_URI": str(landing_zone),
            "LAKE_URI": str(ui_root / "lake"),
            "WAREHOUSE_URL": f"duckdb:///{ui_root / 'warehouse.duckdb'}",
            "EXPORT_DIR": str(ui_root / "exports"),
            "REPORT_DIR": str(ui_root / "reports"),
            "KEYWORD_CLASSIFIER": "rules",
        }


@pytest.fixture(scope="session")
def definitions(project_variables: dict[str, str]) -> dg.Definitions:
    """The definitions as the webserver loads them. The variables are set only while loading:
    the rest of the suite shares this process and relies on its own environment."""
    from customer_analytics.definitions import defs

    with pytest.MonkeyPatch.context() as patch:
        for name, value in project_variables.items():
            patch.setenv(name, value)
        return defs()


@pytest.fixture(scope="session")
def dagster_ui(
    ui_root: Path, landing_zone: Path, project_variables: dict[str, str]
) -> Iterator[DagsterUI]:
    ui = DagsterUI(
        home=Path(project_variables["DAGSTER_HOME"]),
        raw=landing_zone,
        env={**os.environ, **project_variables},
        port=free_port(),
    )
    logs = ui_root / "logs"
    logs.mkdir()
    try:
        ui.start(logs, cwd=REPO_ROOT)
        print(f"\nDagster UI on {ui.base_url}, logs in {logs}")
        yield ui
    finally:
        ui.stop()


@pytest.fixture(scope="session")
def materialize(
    dagster_ui: DagsterUI, definitions: dg.Definitions, project_variables: dict[str, str]
) -> Callable[..., dg.ExecuteInProcessResult]:
    """`materialize(assets, partition_key=..., tags=...)`: one run of `assets` on the stack's
    instance, in this process. It stores what a test then looks at in the UI: the runs the tests
    are about are launched from the UI, and the CLI's are `defs/test_cli.py`'s."""
    everything = [*definitions.assets, *(definitions.asset_checks or [])]

    def run(assets: Sequence[str], **partitions: object) -> dg.ExecuteInProcessResult:
        # The variables only while it runs, as in `definitions`: some resources read theirs then.
        # In a thread of its own: Playwright's synchronous API keeps an event loop running in
        # this one, and the run would start another.
        with (
            pytest.MonkeyPatch.context() as patch,
            dagster_ui.instance() as instance,
            ThreadPoolExecutor(max_workers=1) as thread,
        ):
            for name, value in project_variables.items():
                patch.setenv(name, value)
            result = thread.submit(
                dg.materialize,
                everything,
                selection=list(assets),
                resources=definitions.resources,
                instance=instance,
                **partitions,
            ).result()
        assert result.success
        return result

    return run


@pytest.fixture(scope="session")
def april_days(dagster_ui: DagsterUI, materialize) -> None:
    """The daily chain of April, in one run as a backfill of the range makes it."""
    materialize(DAILY, tags=range_tags("2022-04-01", "2022-04-30"))
    assert dagster_ui.materialized_partitions("daily_pivot") >= APRIL


def _missing_browser(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI must run the browser tests)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _missing_browser("playwright is not installed")
    if not CHROMIUM.exists():
        _missing_browser(f"{CHROMIUM} is missing (apt-get install chromium)")
    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, dagster_ui: DagsterUI, tmp_path: Path):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=VIEWPORT, base_url=dagster_ui.base_url)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    # A fresh instance greets its first visitor with this dialog, a moment after the page has
    # loaded, over whatever is open then. Skipping it is remembered by the instance, so it is
    # dismissed here once, before any test clicks, rather than raced by a handler.
    if dagster_ui.should_show_community_dialog():
        page.goto("/")
        community = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
        community.get_by_role("button", name="Skip").click()
        expect(community).to_be_hidden()
        wait_for(
            "the instance to remember the skipped dialog",
            lambda: not dagster_ui.should_show_community_dialog(),
            timeout=10,
            interval=0.2,
        )
    yield page
    context.close()


@pytest.fixture
def screenshot(page, tmp_path: Path):
    """`screenshot("name")` saves the whole page under the test's tmp_path and prints where."""

    def take(name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        print(f"screenshot: {path}")
        return path

    return take
