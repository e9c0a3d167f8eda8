"""The analytics group through Dagster: one month of daily pivots in, six warehouse tables, their
charts in the metadata and the month's report out.

The month, worked out by hand (April 2022, 30 days; the last 7 days are 24-30):
- C1 watches The Thao 7,200 s on days 1-25: Active 25 (High); weeks 1-3 hold 50,400 s and week 4
  (days 22-25) 28,800 s, a fall of 43%, under the 50% of a drop; active on days 24-25: not at risk.
- C2 watches Thieu Nhi 600 s on days 1-5: Active 5 (Low); silent on days 24-30 after 5 active
  days in days 1-15: at risk, score 1.0.
- C3 watches Phim Truyen 3,600 s on days 1-14 and 22-28: Active 21 (High); week 2 holds
  25,200 s and week 3 nothing: a fall of 100% from week 2 to week 3, score 1.0.
"""

from datetime import date, timedelta

import dagster as dg
import pyarrow as pa
import pytest

from customer_analytics.defs.analytics.assets import TABLES, analytics_tables
from customer_analytics.defs.content.assets import daily_pivot, raw_log_content
from customer_analytics.io_managers.warehouse import PartitionWindow, connect_warehouse
from customer_analytics.rules.tables import DAILY_PIVOT

APRIL = date(2022, 4, 1)
WATCHING = {
    "C1": ("Total_The_Thao", 7200, [*range(1, 26)]),
    "C2": ("Total_Thieu_Nhi", 600, [*range(1, 6)]),
    "C3": ("Total_Phim_Truyen", 3600, [*range(1, 15), *range(22, 29)]),
}


def _write_pivots(project) -> None:
    for offset in range(30):
        day = APRIL + timedelta(offset)
        rows = [
            {
                "date": day,
                "Contract": contract,
                **{column: 0 for column in DAILY_PIVOT.names[2:]},
                column: seconds,
            }
            for contract, (column, seconds, days) in WATCHING.items()
            if day.day in days
        ]
        table = pa.Table.from_pylist(rows, schema=DAILY_PIVOT)
        project.lake.write_parquet(f"daily_pivot/{day}.parquet", table)


def _read(project, table: str, column: str = "month") -> list[dict]:
    window = PartitionWindow(column, APRIL, date(2022, 5, 1))
    return connect_warehouse(project.settings.warehouse_url).read(table, window).to_pylist()


@pytest.fixture
def materialized(project, instance):
    _write_pivots(project)
    result = dg.materialize(
        [raw_log_content, daily_pivot, analytics_tables],
        selection=dg.AssetSelection.groups("analytics"),
        partition_key=APRIL.isoformat(),
        resources=project.resources(),
        instance=instance,
    )
    assert result.success
    return result


def test_segments_and_churn_of_the_month(project, materialized):
    segments = {
        (r["activity_level"], r["MostWatch"]): r["customers"]
        for r in _read(project, "customer_segments")
    }
    assert segments == {
        ("High", "The Thao"): 1,
        ("High", "Phim Truyen"): 1,
        ("Low", "Thieu Nhi"): 1,
    }
    risk = {row["Contract"]: row for row in _read(project, "churn_risk")}
    assert set(risk) == {"C2", "C3"}
    assert (risk["C2"]["score"], risk["C2"]["reason"]) == (
        1.0,
        "silent for the last 7 days after 5 active days in days 1-15",
    )
    assert (risk["C2"]["first_half_days"], risk["C2"]["last_days_active"]) == (5, 0)
    assert (risk["C3"]["score"], risk["C3"]["reason"]) == (
        1.0,
        "viewing fell 100% from week 2 to week 3",
    )


def test_trends_and_engagement_of_the_month(project, materialized):
    trends = {(r["date"], r["category"]): r for r in _read(project, "viewing_trends", "date")}
    first = trends[(APRIL, "The Thao")]
    assert (first["total_seconds"], first["viewers"]) == (7200, 1)
    assert trends[(date(2022, 4, 22), "Phim Truyen")]["total_seconds"] == 3600
    engagement = {row["category"]: row for row in _read(project, "content_engagement")}
    assert engagement["The Thao"]["total_seconds"] == 25 * 7200
    assert engagement["Phim Truyen"]["total_seconds"] == 21 * 3600
    assert engagement["Thieu Nhi"]["viewers"] == 1


def test_each_table_shows_its_chart_and_the_report(project, materialized):
    charts = {"content_engagement", "customer_clusters", "viewing_trends", "category_correlation"}
    events = {
        event.asset_key.path[-1]: event
        for event in materialized.asset_materializations_for_node("analytics_tables")
    }
    assert set(events) == set(TABLES)
    # Each of the three contracts watches one category only.
    assert events["content_engagement"].metadata["taste_breadth"].value == {
        "single_category": 3,
        "multi_category": 0,
        "single_category_share": 1.0,
        "multi_category_share": 0.0,
    }
    reports = set()
    for name, event in events.items():
        metadata = event.metadata
        assert metadata["engine"].value == "duckdb"
        if name in charts:
            assert metadata["chart"].value.startswith("![")
            assert "(data:image/png;base64," in metadata["chart"].value
        reports.add(metadata["report"].value)
    (report,) = reports
    index = project.root / "reports" / "2022-04" / "index.html"
    assert report.endswith("2022-04/index.html")
    html = index.read_text()
    for picture in (
        "viewing_time_per_category",
        "segments_by_cluster",
        "daily_viewing_per_category",
        "correlation_of_categories",
    ):
        assert f'src="{picture}.png"' in html
        assert (index.parent / f"{picture}.png").read_bytes().startswith(b"\x89PNG")
