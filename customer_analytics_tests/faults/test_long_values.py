"""A value longer than the warehouse holds is quarantined with its own reason, and the month
loads: end to end through Dagster, on DuckDB and on MySQL (strict mode) alike.

Before the contract set its lengths, one 300-character contract failed customer_content_stats
on MySQL ("Data too long"), and one 600-character search failed keyword_category and so every
user's customer_search_stats.
"""

from datetime import date, timedelta

import dagster as dg
import pytest

from customer_analytics.defs.content.assets import (
    customer_content_stats,
    daily_pivot,
    raw_log_content,
)
from customer_analytics.defs.search.assets import (
    customer_search_stats,
    keyword_category,
    monthly_top_keyword,
    raw_log_search,
)
from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics_tests.conftest import content_line

APRIL = [date(2022, 4, 1) + timedelta(days=offset) for offset in range(30)]
LONG_CONTRACT = "HNH" + "7" * 297  # 300 characters
LONG_KEYWORD = "phim " * 120  # 600 characters, 599 once trimmed: still over 500


@pytest.fixture(autouse=True)
def small_days(monkeypatch: pytest.MonkeyPatch) -> None:
    # Autouse, so set before `project` reads the environment: days of a few lines, one of them
    # rejected, and a search export of one day.
    monkeypatch.setenv("CHECK_MAX_REJECTED_SHARE", "0.5")
    monkeypatch.setenv("SEARCH_EXPORT_DAYS", "1")


def _quarantine_reasons(project, asset: str) -> list[str]:
    return project.lake.dataset_of_folder(asset).to_table()["reason"].to_pylist()


def test_a_300_character_contract_is_quarantined_and_the_month_loads(project, instance):
    for day in APRIL:
        lines = [content_line(f"f{day:%d}", "FILL", "KPLUS", 0)]
        if day == APRIL[0]:
            lines += [
                content_line("a1", "C1", "VOD", 40),
                content_line("a2", LONG_CONTRACT, "VOD", 60),
            ]
        project.write_content_day(day, lines)
    resources = project.resources()
    assets = [raw_log_content, daily_pivot, customer_content_stats]
    days = dg.materialize(
        assets[:2],
        resources=resources,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2022-04-01",
            "dagster/asset_partition_range_end": "2022-04-30",
        },
    )
    assert days.success
    month = dg.materialize(
        assets,
        selection=[customer_content_stats],
        resources=resources,
        instance=instance,
        partition_key="2022-04-01",
    )
    assert month.success

    assert _quarantine_reasons(project, "content_quarantine") == ["contract_too_long"]
    stats = connect_warehouse(project.settings.warehouse_url).read("customer_content_stats", None)
    assert sorted((row["Contract"], row["Total_Phim_Truyen"]) for row in stats.to_pylist()) == [
        ("C1", 40),
        ("FILL", 0),
    ]


def test_a_600_character_search_is_quarantined_and_every_user_gets_stats(project, instance):
    project.write_search_day(
        date(2022, 6, 1),
        [
            {"eventID": "e1", "user_id": "0014111", "keyword": "bolero"},
            {"eventID": "e2", "user_id": "777", "keyword": LONG_KEYWORD},
            {"eventID": "e3", "user_id": "777", "keyword": "vtv3"},
        ],
    )
    assets = [raw_log_search, monthly_top_keyword, keyword_category, customer_search_stats]
    resources = project.resources()
    day = dg.materialize(
        assets, selection=[raw_log_search], resources=resources, instance=instance,
        partition_key="2022-06-01",
    )  # fmt: skip
    assert day.success
    month = dg.materialize(
        assets, selection=assets[1:], resources=resources, instance=instance,
        partition_key="2022-06-01",
    )  # fmt: skip
    assert month.success

    assert _quarantine_reasons(project, "search_quarantine") == ["keyword_too_long"]
    stats = connect_warehouse(project.settings.warehouse_url).read("customer_search_stats", None)
    assert sorted((r["user_id"], r["keyword_cur"], r["taste"]) for r in stats.to_pylist()) == [
        ("0014111", "bolero", "New"),
        ("777", "vtv3", "New"),
    ]
