"""COMPUTE_ENGINE=spark through Dagster: the same resources as any run, with Spark (local mode,
the test session) behind `LazyPySparkResource`.

Expected values are worked out by hand from the days below (docs/contract.md §3).
"""

from datetime import date

import dagster as dg
import pytest

from customer_analytics.defs.content.assets import daily_pivot, raw_log_content
from customer_analytics.settings import Settings
from customer_analytics_tests.conftest import Project, content_line, range_tags

DAYS = {
    date(2022, 4, 1): [
        content_line("a1", "C1", "KPLUS", 100),
        content_line("a2", "C1", "VOD", "50"),
        "{bad",
        content_line("a3", "C2", "SPORT", 30),
    ],
    date(2022, 4, 2): [
        content_line("b1", "C1", "CHILD", 20),
        content_line("b1", "C1", "CHILD", 99),  # the same _id again: duplicate_id
        content_line("b2", " C2 ", "sport", 70),
    ],
}


@pytest.fixture
def spark_project(spark, tmp_path, monkeypatch) -> Project:
    env = {
        "COMPUTE_ENGINE": "spark",
        "RAW_DATA_URI": str(tmp_path / "raw"),
        "LAKE_URI": str(tmp_path / "lake"),
        "WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        "EXPORT_DIR": str(tmp_path / "exports"),
        "CHECK_MAX_REJECTED_SHARE": "0.5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Project(root=tmp_path, settings=Settings.from_env())


def test_days_through_dagster_on_spark(spark_project, instance):
    for day, lines in DAYS.items():
        spark_project.write_content_day(day, lines)
    result = dg.materialize(
        [raw_log_content, daily_pivot],
        resources=spark_project.resources(),
        instance=instance,
        tags=range_tags("2022-04-01", "2022-04-02"),
    )
    assert result.success
    lake = spark_project.lake
    raw = lake.dataset_of_folder("raw_log_content").to_table().sort_by("_id")
    assert [
        (r["date"], r["Contract"], r["category"], r["TotalDuration"]) for r in raw.to_pylist()
    ] == [
        (date(2022, 4, 1), "C1", "Truyen Hinh", 100),
        (date(2022, 4, 1), "C1", "Phim Truyen", 50),
        (date(2022, 4, 1), "C2", "The Thao", 30),
        (date(2022, 4, 2), "C1", "Thieu Nhi", 20),
        (date(2022, 4, 2), "C2", "The Thao", 70),
    ]
    quarantine = lake.dataset_of_folder("content_quarantine").to_table()
    assert sorted((r["date"], r["line_number"], r["reason"]) for r in quarantine.to_pylist()) == [
        (date(2022, 4, 1), 3, "malformed_json"),
        (date(2022, 4, 2), 2, "duplicate_id"),
    ]
    pivot = (
        lake.dataset_of_folder("daily_pivot")
        .to_table()
        .sort_by([("date", "ascending"), ("Contract", "ascending")])
    )
    assert [tuple(row.values()) for row in pivot.to_pylist()] == [
        (date(2022, 4, 1), "C1", 0, 50, 0, 0, 100),
        (date(2022, 4, 1), "C2", 0, 0, 30, 0, 0),
        (date(2022, 4, 2), "C1", 0, 0, 0, 20, 0),
        (date(2022, 4, 2), "C2", 0, 0, 70, 0, 0),
    ]
    engines = {
        m.asset_key.to_user_string(): m.metadata["engine"].value
        for node in ("raw_log_content", "daily_pivot")
        for m in result.asset_materializations_for_node(node)
    }
    assert engines == dict.fromkeys(
        ["raw_log_content", "content_quarantine", "daily_pivot"], "spark"
    )
