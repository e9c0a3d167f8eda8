"""The viewing-log chain through Dagster: days, the month, and re-materialization.

Expected values are worked out by hand from the fixture below, with the rules of
docs/contract.md §3: RELAX → Giai Tri, CHILD → Thieu Nhi, SPORT → The Thao, VOD → Phim Truyen,
KPLUS → Truyen Hinh; MostWatch is the largest total, ties in the order Truyen Hinh, Phim Truyen,
The Thao, Thieu Nhi, Giai Tri (NULL when all are 0); Taste joins the categories with a total > 0
in the order Giai Tri, Phim Truyen, The Thao, Thieu Nhi, Truyen Hinh.
"""

import csv
import io
from datetime import date, timedelta

import dagster as dg
import duckdb
import pyarrow as pa
import pytest
import sqlalchemy as sa

from customer_analytics.defs.content.assets import (
    customer_content_stats,
    daily_pivot,
    raw_log_content,
)
from customer_analytics.io_managers.warehouse import EXPORT_CSV, connect_warehouse
from customer_analytics.lib.metadata import stored_table
from customer_analytics.lib.partitions import content_monthly
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS
from customer_analytics_tests.conftest import PROFILE_COLUMNS, content_line, range_tags

APRIL = [date(2022, 4, 1) + timedelta(days=offset) for offset in range(30)]
DAILY_ASSETS = [raw_log_content, daily_pivot]

FIXTURE = {
    date(2022, 4, 1): [
        content_line("a1", "C1", "KPLUS", 100),
        content_line("a2", "C1", "VOD", "50"),
        content_line("a3", "C2", "SPORT", 30),
        "{bad",
    ],
    date(2022, 4, 2): [
        content_line("b1", "C1", "CHILD", 20),
        content_line("b2", "C3", "RELAX", 10),
        content_line("b2", "C3", "RELAX", 0),  # the same _id again: duplicate_id, 10 is kept
    ],
    date(2022, 4, 3): [
        content_line("c1", " C2 ", "sport", 70),
        content_line("c2", "0", "KPLUS", 5),
    ],
}


@pytest.fixture(autouse=True)
def _dirty_fixture_days(monkeypatch):
    """The fixture days are mostly dirt on purpose, to exercise the rules: up to half of a
    day's lines are rejected (the 3rd: 1 of 2), over the default rejected_share limit."""
    monkeypatch.setenv("CHECK_MAX_REJECTED_SHARE", "0.5")


def _write_april(project, overrides=None):
    """The fixture days, and on each of the other 27 days one zero-second record of contract
    FILL (an empty day would stop the run: see the daily_volume check)."""
    days = {**FIXTURE, **(overrides or {})}
    for day in APRIL:
        filler = [content_line(f"f{day:%d}", "FILL", "KPLUS", 0)]
        project.write_content_day(day, days.get(day, filler))


def _materialize_days(project, instance, first: str, last: str):
    return dg.materialize(
        DAILY_ASSETS,
        resources=project.resources(),
        instance=instance,
        tags=range_tags(first, last),
    )


def _materialize_month(project, instance):
    return dg.materialize(
        [*DAILY_ASSETS, customer_content_stats],
        resources=project.resources(),
        instance=instance,
        partition_key="2022-04-01",
        selection=[customer_content_stats],
    )


def _profiles(project):
    table = connect_warehouse(project.settings.warehouse_url).read(
        "customer_content_stats", None, CUSTOMER_CONTENT_STATS
    )
    return sorted(tuple(row[c] for c in PROFILE_COLUMNS[1:]) for row in table.to_pylist())


def test_month_of_days_then_profiles(project, instance):
    _write_april(project)
    assert _materialize_days(project, instance, "2022-04-01", "2022-04-30").success
    assert _materialize_month(project, instance).success

    # C1: KPLUS 100 (day 1) → Truyen Hinh, VOD "50" (day 1) → Phim Truyen, CHILD 20 (day 2)
    #     → Thieu Nhi; active on days 1 and 2; 100 is the largest.
    # C2: SPORT 30 (day 1) + " C2 " sport 70 (day 3, trimmed, any case) = 100 The Thao; 2 days.
    # C3: RELAX 10, the first line of _id b2 (day 2) → 10 Giai Tri; 1 day.
    # FILL: one zero-second line on each of the 27 other days; nothing watched, so NULLs.
    assert _profiles(project) == [
        ("C1", 0, 50, 0, 20, 100, 2, "Truyen Hinh", "Phim Truyen-Thieu Nhi-Truyen Hinh"),
        ("C2", 0, 0, 100, 0, 0, 2, "The Thao", "The Thao"),
        ("C3", 10, 0, 0, 0, 0, 1, "Giai Tri", "Giai Tri"),
        ("FILL", 0, 0, 0, 0, 0, 27, None, None),
    ]
    # 3 + 2 + 1 valid lines and 27 fillers; the bad line, the repeated id and contract "0"
    # quarantined; pivot rows C1, C2 | C1, C3 | C2 and 27 fillers.
    assert project.lake_rows("raw_log_content") == 33
    assert project.lake_rows("content_quarantine") == 3
    assert project.lake_rows("daily_pivot") == 32
    exported = (project.root / "exports" / "customer_content_stats" / "2022-04-01.csv").read_text()
    # A header and the four contracts in Contract order; a NULL is an empty field.
    assert list(csv.reader(io.StringIO(exported))) == [
        PROFILE_COLUMNS,
        [
            "2022-04-01",
            "C1",
            "0",
            "50",
            "0",
            "20",
            "100",
            "2",
            "Truyen Hinh",
            "Phim Truyen-Thieu Nhi-Truyen Hinh",
        ],
        ["2022-04-01", "C2", "0", "0", "100", "0", "0", "2", "The Thao", "The Thao"],
        ["2022-04-01", "C3", "10", "0", "0", "0", "0", "1", "Giai Tri", "Giai Tri"],
        ["2022-04-01", "FILL", "0", "0", "0", "0", "0", "27", "", ""],
    ]


def test_rematerializing_a_day_and_the_month_neither_duplicates_nor_loses_rows(project, instance):
    _write_april(project)
    assert _materialize_days(project, instance, "2022-04-01", "2022-04-30").success
    assert _materialize_month(project, instance).success
    # A row of another month, which the April runs must leave alone.
    warehouse = connect_warehouse(project.settings.warehouse_url)
    may = {
        "month": date(2022, 5, 1),
        "Contract": "MAY1",
        "Total_Giai_Tri": 0,
        "Total_Phim_Truyen": 7,
        "Total_The_Thao": 0,
        "Total_Thieu_Nhi": 0,
        "Total_Truyen_Hinh": 0,
        "Active": 1,
        "MostWatch": "Phim Truyen",
        "Taste": "Phim Truyen",
    }
    warehouse.replace(
        "customer_content_stats",
        pa.Table.from_pylist([may], schema=CUSTOMER_CONTENT_STATS),
        ("month", date(2022, 5, 1), date(2022, 6, 1)),
    )

    corrected = {
        date(2022, 4, 2): [
            content_line("b1", "C1", "CHILD", 200),
            content_line("b3", "C4", "VOD", 10),
            content_line("b4", "C4", "RELAX", 10),
        ]
    }
    _write_april(project, corrected)
    assert _materialize_days(project, instance, "2022-04-02", "2022-04-02").success
    assert _materialize_month(project, instance).success

    # C1: CHILD is 200 now, over KPLUS 100. C3 had only day 2, which no longer names it.
    # C4: VOD 10 and RELAX 10 tie; Phim Truyen comes before Giai Tri in the tie order, and
    #     Taste lists Giai Tri first.
    assert _profiles(project) == [
        ("C1", 0, 50, 0, 200, 100, 2, "Thieu Nhi", "Phim Truyen-Thieu Nhi-Truyen Hinh"),
        ("C2", 0, 0, 100, 0, 0, 2, "The Thao", "The Thao"),
        ("C4", 10, 10, 0, 0, 0, 1, "Phim Truyen", "Giai Tri-Phim Truyen"),
        ("FILL", 0, 0, 0, 0, 0, 27, None, None),
        ("MAY1", 0, 7, 0, 0, 0, 1, "Phim Truyen", "Phim Truyen"),
    ]
    assert project.lake_rows("raw_log_content") == 34  # 3 + 3 + 1 + 27
    assert project.lake_rows("content_quarantine") == 2  # day 2 is clean now
    assert project.lake_rows("daily_pivot") == 32  # C1, C2 | C1, C4 | C2 | 27 x FILL


def test_missing_day_file_fails_naming_the_path(project, instance):
    project.write_content_day(date(2022, 4, 1), FIXTURE[date(2022, 4, 1)])
    result = dg.materialize(
        DAILY_ASSETS,
        resources=project.resources(),
        instance=instance,
        partition_key="2022-04-02",
        raise_on_error=False,
    )
    assert not result.success
    failure = result.failure_data_for_node("raw_log_content")
    assert (
        project.raw.describe("log_content/20220402.json") in failure.user_failure_data.description
    )


def test_month_fails_clearly_when_a_day_was_never_materialized(project, instance):
    _write_april(project)
    assert _materialize_days(project, instance, "2022-04-01", "2022-04-29").success
    with pytest.raises(Exception, match=r"daily_pivot has not been materialized .*2022-04-30"):
        _materialize_month(project, instance)


def _narrow_thieu_nhi_column(project):
    """Total_Thieu_Nhi becomes TINYINT in the warehouse: the stored 20 s still fit, and the
    column keeps its name, so the warehouse_schema check passes. DuckDB then refuses 200 (out
    of range); the MySQL warehouse refuses the table (tinyint where the rows have bigint)."""
    url = project.settings.warehouse_url
    if url.startswith("duckdb:///"):
        with duckdb.connect(url.removeprefix("duckdb:///")) as con:
            con.execute('ALTER TABLE customer_content_stats ALTER "Total_Thieu_Nhi" TYPE TINYINT')
    else:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "ALTER TABLE customer_content_stats MODIFY `Total_Thieu_Nhi` TINYINT NOT NULL"
            )
        engine.dispose()


def test_a_failed_warehouse_write_leaves_the_csv_of_the_month_as_it_was(
    project, instance, monkeypatch
):
    _write_april(project)
    assert _materialize_days(project, instance, "2022-04-01", "2022-04-30").success
    stored = _materialize_month(project, instance)
    csv_path = project.root / "exports" / "customer_content_stats" / "2022-04-01.csv"
    # The CSV is written by the IO manager, after the warehouse, and named on the materialization.
    (materialization,) = stored.asset_materializations_for_node("customer_content_stats")
    assert materialization.metadata["csv"].value == str(csv_path)
    profiles, exported = _profiles(project), csv_path.read_bytes()

    _narrow_thieu_nhi_column(project)
    # C1 watches 200 s of CHILD on the 2nd now, more than TINYINT holds.
    corrected = {date(2022, 4, 2): [content_line("b1", "C1", "CHILD", 200)]}
    _write_april(project, corrected)
    assert _materialize_days(project, instance, "2022-04-02", "2022-04-02").success
    # The step retries a failed write (network_retry); without the waits between attempts.
    monkeypatch.setattr(dg.RetryPolicy, "calculate_delay", lambda self, attempt: 0)
    result = dg.materialize(
        [*DAILY_ASSETS, customer_content_stats],
        resources=project.resources(),
        instance=instance,
        partition_key="2022-04-01",
        selection=[customer_content_stats],
        raise_on_error=False,
    )

    assert not result.success
    assert result.get_failed_step_keys() == {"customer_content_stats"}
    # Every check passed: the rows were fine, the warehouse refused them.
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert result.asset_materializations_for_node("customer_content_stats") == []
    assert _profiles(project) == profiles
    assert csv_path.read_bytes() == exported  # not the 200 s the warehouse refused


def _profile(month: date, contract: str, active: int) -> dict:
    return {
        "month": month,
        "Contract": contract,
        "Total_Giai_Tri": 0,
        "Total_Phim_Truyen": 7,
        "Total_The_Thao": 0,
        "Total_Thieu_Nhi": 0,
        "Total_Truyen_Hinh": 0,
        "Active": active,
        "MostWatch": "Phim Truyen",
        "Taste": "Phim Truyen",
    }


def test_a_run_of_several_months_exports_one_csv_per_month(project, instance):
    # A monthly asset stored like customer_content_stats, materialized for April and May in
    # one run: one CSV per month, each with its own month's rows.
    @dg.asset(
        partitions_def=content_monthly,
        io_manager_key="warehouse_io_manager",
        metadata={**stored_table(CUSTOMER_CONTENT_STATS, "month"), EXPORT_CSV: True},
    )
    def monthly_profiles() -> pa.Table:
        rows = [
            _profile(date(2022, 4, 1), "A1", 3),
            _profile(date(2022, 5, 1), "M1", 1),
            _profile(date(2022, 5, 1), "M2", 31),
        ]
        return pa.Table.from_pylist(rows, schema=CUSTOMER_CONTENT_STATS)

    result = dg.materialize(
        [monthly_profiles],
        resources=project.resources(),
        instance=instance,
        tags=range_tags("2022-04-01", "2022-05-01"),
    )
    assert result.success

    exports = project.root / "exports" / "monthly_profiles"
    april, may = (
        list(csv.reader(io.StringIO((exports / f"{month}.csv").read_text())))
        for month in ("2022-04-01", "2022-05-01")
    )
    assert [row[:2] + row[7:8] for row in april[1:]] == [["2022-04-01", "A1", "3"]]
    assert [row[:2] + row[7:8] for row in may[1:]] == [
        ["2022-05-01", "M1", "1"],
        ["2022-05-01", "M2", "31"],
    ]
    # The materialization names the folder of the run's files.
    (materialization, *_) = result.asset_materializations_for_node("monthly_profiles")
    assert materialization.metadata["csv"].value == str(exports)
