"""The search chain through Dagster for June and July 2022, on a hand-made fixture.

The keyword cache is seeded with hand-chosen categories, so the expected tastes do not depend
on any classifier, and a run must then send nothing to the classifier.
"""

from datetime import UTC, date, datetime

import dagster as dg
import pytest

from customer_analytics.defs.search.assets import (
    customer_search_stats,
    keyword_category,
    monthly_top_keyword,
    raw_log_search,
)
from customer_analytics.defs.search.classifiers.cache import KeywordCache
from customer_analytics.defs.search.classifiers.classifier import Classification
from customer_analytics.io_managers.warehouse import connect_warehouse

ASSETS = [raw_log_search, monthly_top_keyword, keyword_category, customer_search_stats]
MONTHLY = [monthly_top_keyword, keyword_category, customer_search_stats]

JUNE_1 = [
    {"eventID": "j1", "user_id": "0014111", "keyword": "Running Man"},
    {"eventID": "j2", "user_id": "0014111", "keyword": "running  man "},
    {"eventID": "j3", "user_id": "0014111", "keyword": "VTV3"},
    {"eventID": "j4", "user_id": "14111", "keyword": "vtv3"},
    {"eventID": "j4", "user_id": "14111", "keyword": "bolero"},  # repeated event
    {"eventID": "j5", "user_id": "777", "keyword": "Tìm kiếm bằng giọng nói"},
    {"eventID": "j6", "user_id": "777", "keyword": None},
]
JUNE_2 = [
    {"eventID": "k1", "user_id": "777", "keyword": "Bolero"},
    {"eventID": "k2", "user_id": "777", "keyword": "doraemon", "action": "play"},
]
JULY_1 = [
    {"eventID": "l1", "user_id": "0014111", "keyword": "doraemon"},
    {"eventID": "l2", "user_id": "14111", "keyword": "htv7"},
    {"eventID": "l3", "user_id": "14111", "keyword": "HTV7"},
    {"eventID": "l4", "user_id": "14111", "keyword": "vtv3"},
    {"eventID": "l5", "user_id": "888", "keyword": "Man City vs Liverpool"},
]
CATEGORIES = {
    "running man": "Reality Show",
    "vtv3": "TV Channel",
    "htv7": "TV Channel",
    "bolero": "Music",
    "doraemon": "Animation",
    "man city vs liverpool": "Sports",
}


@pytest.fixture(autouse=True)
def _dirty_fixture_days(monkeypatch):
    """The fixture days are mostly dirt on purpose, to exercise the rules: up to half of a
    day's rows are rejected (June 2nd: 1 of 2), over the default rejected_share limit."""
    monkeypatch.setenv("CHECK_MAX_REJECTED_SHARE", "0.5")


def _seed_cache(project):
    seeded_at = datetime(2022, 8, 1, tzinfo=UTC)
    KeywordCache(connect_warehouse(project.settings.warehouse_url)).store(
        [Classification(k, c, "manual", "hand", seeded_at) for k, c in CATEGORIES.items()]
    )


def _write_fixture(project):
    project.write_search_day(date(2022, 6, 1), JUNE_1)
    project.write_search_day(date(2022, 6, 2), JUNE_2)
    project.write_search_day(date(2022, 7, 1), JULY_1)


def _run(project, instance, assets, **kwargs):
    result = dg.materialize(
        ASSETS, selection=assets, resources=project.resources(), instance=instance, **kwargs
    )
    assert result.success
    return result


def _run_months(project, instance):
    _run(
        project,
        instance,
        [raw_log_search],
        tags={
            "dagster/asset_partition_range_start": "2022-06-01",
            "dagster/asset_partition_range_end": "2022-06-02",
        },
    )
    _run(project, instance, [raw_log_search], partition_key="2022-07-01")
    return [_run(project, instance, MONTHLY, partition_key=m) for m in ("2022-06-01", "2022-07-01")]


def _stats(project, month):
    table = connect_warehouse(project.settings.warehouse_url).read(
        "customer_search_stats", ("month", month, date(month.year, month.month + 1, 1))
    )
    return {
        row["user_id"]: (
            row["keyword_prev"],
            row["category_prev"],
            row["keyword_cur"],
            row["category_cur"],
            row["taste"],
        )
        for row in table.to_pylist()
    }


def test_june_and_july_tastes(project, instance):
    _write_fixture(project)
    _seed_cache(project)
    _run_months(project, instance)

    assert _stats(project, date(2022, 6, 1)) == {
        "0014111": (None, None, "running man", "Reality Show", "New"),
        "14111": (None, None, "vtv3", "TV Channel", "New"),
        "777": (None, None, "bolero", "Music", "New"),
    }
    assert _stats(project, date(2022, 7, 1)) == {
        "0014111": ("running man", "Reality Show", "doraemon", "Animation", "Changed"),
        "14111": ("vtv3", "TV Channel", "htv7", "TV Channel", "Unchanged"),
        "777": ("bolero", "Music", None, None, "Churned"),
        "888": (None, None, "man city vs liverpool", "Sports", "New"),
    }


def test_quarantine_and_top_keyword_counts(project, instance):
    _write_fixture(project)
    _seed_cache(project)
    _run_months(project, instance)

    quarantine = project.lake.dataset_of_folder("search_quarantine").to_table()
    assert sorted(
        zip(
            quarantine["date"].to_pylist(),
            quarantine["row_number"].to_pylist(),
            quarantine["reason"].to_pylist(),
            strict=True,
        )
    ) == [
        (date(2022, 6, 1), 5, "duplicate_event"),
        (date(2022, 6, 1), 6, "voice_search"),
        (date(2022, 6, 1), 7, "empty_keyword"),
        (date(2022, 6, 2), 2, "not_search_action"),
    ]
    top = project.lake.dataset_of_folder("monthly_top_keyword").to_table().to_pylist()
    assert {
        (r["month"].month, r["user_id"], r["keyword"], r["search_count"], r["total_searches"])
        for r in top
    } == {
        (6, "0014111", "running man", 2, 3),
        (6, "14111", "vtv3", 1, 1),
        (6, "777", "bolero", 1, 1),
        (7, "0014111", "doraemon", 1, 1),
        (7, "14111", "htv7", 2, 3),
        (7, "888", "man city vs liverpool", 1, 1),
    }


def test_cached_keywords_are_not_classified_again(project, instance):
    _write_fixture(project)
    _seed_cache(project)
    june, july = (
        result.asset_materializations_for_node("keyword_category")[0]
        for result in _run_months(project, instance)
    )
    assert june.metadata["newly_classified"].value == 0
    assert july.metadata["newly_classified"].value == 0
    assert june.metadata["from_cache"].value == 3


def test_new_keywords_are_classified_and_cached(project, instance):
    _write_fixture(project)
    _run_months(project, instance)

    cached = connect_warehouse(project.settings.warehouse_url).read("keyword_category", None)
    assert sorted(cached["keyword"].to_pylist()) == sorted(CATEGORIES)
    assert set(cached["source"].to_pylist()) == {"rules"}


def test_search_stats_fail_clearly_without_categories(project, instance):
    _write_fixture(project)
    _run(project, instance, [raw_log_search], partition_key="2022-06-01")
    _run(project, instance, [monthly_top_keyword], partition_key="2022-06-01")
    with pytest.raises(dg.Failure, match="2 top keywords have no category yet"):
        _run(project, instance, [customer_search_stats], partition_key="2022-06-01")
