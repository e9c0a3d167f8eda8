"""The checks of the viewing-log chain: each rule broken by a few hand-made rows, then the same
rows made clean, and a blocking failure seen through Dagster.

The checks that run SQL (durations_over_a_day, the pivot and stats checks) run on DuckDB and on
Spark (the `engine` fixture); those that only count the days run on DuckDB. Every expected
figure is worked out by hand from the rows next to it.
"""

from dataclasses import replace
from datetime import date, timedelta

import dagster as dg
import pyarrow as pa
import pytest

from customer_analytics.defs.content import transforms as content
from customer_analytics.defs.content.assets import (
    customer_content_stats,
    daily_pivot,
    raw_log_content,
)
from customer_analytics.defs.content.checks import (
    PIVOT_CHECKS,
    RAW_CHECKS,
    STATS_CHECKS,
    PivotToStore,
    ProfilesToStore,
)
from customer_analytics.defs.content.schemas import CONTENT_QUARANTINE, RAW_LOG_CONTENT
from customer_analytics.engines.base import Engine, Query
from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics.lib.checks import ERROR, WARN, Check, CheckThresholds, Outcome
from customer_analytics.lib.partitions import content_monthly
from customer_analytics.lib.raw_checks import PartitionCounts, ValidatedPartitions
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS, DAILY_PIVOT
from customer_analytics.rules.viewing import TOTAL_COLUMNS
from customer_analytics_tests.conftest import content_line, range_tags
from customer_analytics_tests.fixtures.engines import ENGINES
from customer_analytics_tests.lib.outcomes import assert_fails_with, check, figures

# createDataFrame checks the installed pandas even when given Arrow tables.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)
# For the tests whose checks only count: the `engine` fixture on DuckDB alone.
DUCKDB_ONLY = pytest.mark.parametrize("engine", ["duckdb"], indirect=True)

D1, D2 = date(2022, 4, 1), date(2022, 4, 2)
APRIL = date(2022, 4, 1)


# --- raw checks: ValidatedPartitions built by hand ------------------------------------------------


def validated(
    *days: PartitionCounts,
    durations: tuple[int, ...] = (),
    trailing: dict[date, list[int]] | None = None,
    thresholds: CheckThresholds | None = None,
) -> ValidatedPartitions:
    """Days with the given counts; `durations` become the valid records of the first day.

    No engine yet: each test runs the days `on` its own."""
    valid = pa.Table.from_pylist(
        [
            {
                "date": days[0].partition,
                "Contract": "C1",
                "Mac": "0C96E62FC55C",
                "AppName": "KPLUS",
                "category": "Truyen Hinh",
                "TotalDuration": seconds,
                "_id": f"r{n}",
            }
            for n, seconds in enumerate(durations)
        ],
        schema=RAW_LOG_CONTENT,
    )
    return ValidatedPartitions(
        partitions=list(days),
        engine=None,
        valid=valid,
        quarantine=CONTENT_QUARANTINE.empty_table(),
        trailing_rows=trailing or {counts.partition: [] for counts in days},
        thresholds=thresholds or CheckThresholds(),
    )


def on(engine: Engine, days: ValidatedPartitions) -> ValidatedPartitions:
    return replace(days, engine=engine)


RAW_CASES = {
    # 2 malformed + 1 without _source out of 4 lines on the 2nd; clean: those lines parse but
    # carry a bad contract, which is not a shape problem (1 malformed of 4).
    "file_schema": (
        validated(
            PartitionCounts(D1, 10, {}),
            PartitionCounts(D2, 1, {"malformed_json": 2, "missing_source": 1}),
        ),
        validated(
            PartitionCounts(D1, 10, {}),
            PartitionCounts(D2, 1, {"malformed_json": 1, "invalid_contract": 2}),
        ),
        {"worst_day": "2022-04-02", "unreadable_share": 0.75},
    ),
    # 5 repeated ids of 100 lines on the 2nd (limit 0.02); clean: 2 of 100 is the limit itself.
    "quarantine_share": (
        validated(
            PartitionCounts(D1, 99, {"invalid_duration": 1}),
            PartitionCounts(D2, 95, {"duplicate_id": 5}),
        ),
        validated(
            PartitionCounts(D1, 99, {"invalid_duration": 1}),
            PartitionCounts(D2, 98, {"duplicate_id": 2}),
        ),
        {
            "over_limit": [{"day": "2022-04-02", "reason": "duplicate_id", "share": 0.05}],
            "share_by_reason": {
                "malformed_json": 0.0,
                "missing_source": 0.0,
                "invalid_contract": 0.0,
                "contract_too_long": 0.0,
                "invalid_duration": 0.005,  # 1 of 200 lines
                "unknown_app": 0.0,
                "duplicate_id": 0.025,  # 5 of 200
            },
        },
    ),
    # 1 unknown app of 50 lines on the 2nd (limit 0.01); clean: 1 of 100 is the limit itself.
    "unknown_app_share": (
        validated(
            PartitionCounts(D1, 99, {"unknown_app": 1}), PartitionCounts(D2, 49, {"unknown_app": 1})
        ),
        validated(
            PartitionCounts(D1, 99, {"unknown_app": 1}), PartitionCounts(D2, 99, {"unknown_app": 1})
        ),
        {"worst_day": "2022-04-02", "unknown_app_share": 0.02},
    ),
    # One record a second longer than a day; exactly a day is not over.
    "durations_over_a_day": (
        validated(PartitionCounts(D1, 3, {}), durations=(100, 86_400, 86_401)),
        validated(PartitionCounts(D1, 3, {}), durations=(100, 86_400, 86_400)),
        {"records_over_a_day": 1, "share": 1 / 3, "longest_seconds": 86_401},
    ),
    # A broken day: of 30 lines, 10 truncated and 10 with contract "0" — 20 of 30 rejected
    # (limit 0.25). Clean: 15 + 10 rejected of 100 lines is the limit itself.
    "rejected_share": (
        validated(
            PartitionCounts(D1, 100, {}),
            PartitionCounts(D2, 10, {"malformed_json": 10, "invalid_contract": 10}),
        ),
        validated(
            PartitionCounts(D1, 100, {}),
            PartitionCounts(D2, 75, {"malformed_json": 15, "invalid_contract": 10}),
        ),
        {
            "worst_day": "2022-04-02",
            "rejected_share": 20 / 30,
            "rejected_rows": 20,
            "rows": 30,
            "limit": 0.25,
            "days_over_limit": ["2022-04-02"],
            "rejected_share_by_day": {"2022-04-01": 0.0, "2022-04-02": 0.66667},
        },
    ),
}
# The raw checks that query the valid rows run on both engines; the others only count.
QUERYING_RAW_CHECKS = {"durations_over_a_day"}
RAW_CASE_ENGINES = [
    (name, engine_name)
    for name in RAW_CASES
    for engine_name in (ENGINES if name in QUERYING_RAW_CHECKS else ("duckdb",))
]


@DUCKDB_ONLY
def test_a_mostly_rejected_day_is_blocked_by_rejected_share_alone(engine):
    # The broken day above: a third unreadable is under max_malformed_share (0.5), and no
    # single reason blocks; only the share of every reason together does.
    broken, _, _ = RAW_CASES["rejected_share"]
    failing = {}
    for raw_check in RAW_CHECKS:
        outcome = raw_check.evaluate(on(engine, broken))
        if not outcome.passed:
            failing[raw_check.name] = (outcome.severity or raw_check.severity).value
    assert failing == {"quarantine_share": "WARN", "rejected_share": "ERROR"}


@DUCKDB_ONLY
def test_rejected_share_limit_comes_from_the_thresholds(engine):
    broken, _, _ = RAW_CASES["rejected_share"]
    relaxed = validated(*broken.partitions, thresholds=CheckThresholds(max_rejected_share=0.7))
    outcome = check(RAW_CHECKS, "rejected_share").evaluate(on(engine, relaxed))
    assert outcome.passed
    assert figures(outcome)["days_over_limit"] == []


@pytest.mark.parametrize(("name", "engine"), RAW_CASE_ENGINES, indirect=["engine"])
def test_raw_check_fails_on_broken_days_and_passes_on_clean_ones(name, engine):
    broken, clean, expected = RAW_CASES[name]
    raw_check = check(RAW_CHECKS, name)
    assert_fails_with(raw_check.evaluate(on(engine, broken)), expected)
    assert raw_check.evaluate(on(engine, clean)).passed


@DUCKDB_ONLY
def test_a_raised_limit_lets_the_same_days_pass(engine):
    broken, _, _ = RAW_CASES["unknown_app_share"]
    relaxed = validated(*broken.partitions, thresholds=CheckThresholds(max_unknown_app_share=0.02))
    outcome = check(RAW_CHECKS, "unknown_app_share").evaluate(on(engine, relaxed))
    assert outcome.passed
    assert figures(outcome)["limit"] == 0.02


@pytest.mark.parametrize(
    ("rows", "quarantined", "trailing", "passed", "severity", "expected"),
    [
        pytest.param(0, {}, [10], False, None, {"empty_days": ["2022-04-08"]}, id="empty-blocks"),
        pytest.param(
            4,
            {},
            [8, 10, 12],
            False,
            WARN,
            {"low_days": [{"day": "2022-04-08", "rows": 4, "trailing_median": 10}]},
            id="low-warns",
        ),
        pytest.param(5, {}, [8, 10, 12], True, None, {"low_days": []}, id="half-the-median"),
        pytest.param(11, {}, [8, 10, 12], True, None, {"low_days": []}, id="normal"),
        pytest.param(1, {}, [], True, None, {"low_days": []}, id="no-history"),
        # Lines that are all quarantined still make a day that is not empty.
        pytest.param(0, {"malformed_json": 9}, [10], True, None, {"empty_days": []}, id="all-bad"),
    ],
)
@DUCKDB_ONLY
def test_daily_volume(rows, quarantined, trailing, passed, severity, expected, engine):
    before = D1 + timedelta(days=6)
    day = before + timedelta(days=1)
    days = validated(
        PartitionCounts(before, 10, {}),
        PartitionCounts(day, rows, quarantined),
        trailing={before: [], day: trailing},
    )
    volume = check(RAW_CHECKS, "daily_volume")
    outcome = volume.evaluate(on(engine, days))
    assert outcome.passed is passed
    assert {key: figures(outcome)[key] for key in expected} == expected
    if not passed:
        # None means the check's own severity: an empty day blocks, a low one only warns.
        assert outcome.severity is severity
        assert (outcome.severity or volume.severity) == (ERROR if severity is None else WARN)


# --- daily_pivot and customer_content_stats: hand-made rows and their hand-made results --------


def raw(day: date, contract: str, app: str, category: str, seconds: int) -> dict:
    return {
        "date": day,
        "Contract": contract,
        "Mac": "0C96E62FC55C",
        "AppName": app,
        "category": category,
        "TotalDuration": seconds,
        "_id": f"{contract}-{app}-{day:%d}",
    }


RAW = pa.Table.from_pylist(
    [
        raw(D1, "C1", "KPLUS", "Truyen Hinh", 100),
        raw(D1, "C1", "VOD", "Phim Truyen", 50),
        raw(D1, "C2", "SPORT", "The Thao", 30),
        raw(D2, "C1", "CHILD", "Thieu Nhi", 20),
        raw(D2, "C3", "RELAX", "Giai Tri", 0),
    ],
    schema=RAW_LOG_CONTENT,
)


def totals(**seconds: int) -> dict:
    """Total_* columns, 0 unless given: totals(Phim_Truyen=50)."""
    return {column: seconds.get(column.removeprefix("Total_"), 0) for column in TOTAL_COLUMNS}


def pivot_row(day: date, contract: str, **seconds: int) -> dict:
    return {"date": day, "Contract": contract, **totals(**seconds)}


PIVOT_ROWS = [
    pivot_row(D1, "C1", Phim_Truyen=50, Truyen_Hinh=100),
    pivot_row(D1, "C2", The_Thao=30),
    pivot_row(D2, "C1", Thieu_Nhi=20),
    pivot_row(D2, "C3"),
]
PIVOT = pa.Table.from_pylist(PIVOT_ROWS, schema=DAILY_PIVOT)

STATS_ROWS = [
    {
        "month": APRIL,
        "Contract": "C1",
        **totals(Phim_Truyen=50, Thieu_Nhi=20, Truyen_Hinh=100),
        "Active": 2,
        "MostWatch": "Truyen Hinh",
        "Taste": "Phim Truyen-Thieu Nhi-Truyen Hinh",
    },
    {
        "month": APRIL,
        "Contract": "C2",
        **totals(The_Thao=30),
        "Active": 1,
        "MostWatch": "The Thao",
        "Taste": "The Thao",
    },
    {"month": APRIL, "Contract": "C3", **totals(), "Active": 1, "MostWatch": None, "Taste": None},
]
STATS = pa.Table.from_pylist(STATS_ROWS, schema=CUSTOMER_CONTENT_STATS)


def test_hand_made_pivot_and_stats_are_what_the_engine_makes(engine):
    # The clean rows below are only a fair baseline if the engine agrees with them.
    assert engine.fetch(content.daily_pivot(RAW)).to_pylist() == PIVOT_ROWS
    assert engine.fetch(content.customer_content_stats(PIVOT)).to_pylist() == STATS_ROWS


def changed(rows: list[dict], contract: str, day: date | None = None, **values) -> list[dict]:
    """The rows with `values` set on those of `contract` (and `day`, for pivot rows)."""
    return [
        {**row, **values}
        if row["Contract"] == contract and (day is None or row["date"] == day)
        else row
        for row in rows
    ]


def total(**seconds: int) -> dict:
    return {f"Total_{category}": value for category, value in seconds.items()}


PIVOT_BREAKS = [
    pytest.param(
        "one_row_per_date_contract",
        lambda rows: [*rows, pivot_row(D1, "C2")],  # all zero: the sums still reconcile
        {"rows": 5, "duplicate_rows": 1, "missing_contracts": 0},
        id="repeated-date-contract",
    ),
    pytest.param(
        "one_row_per_date_contract",
        lambda rows: [*rows, pivot_row(D2, "")],
        {"duplicate_rows": 0, "missing_contracts": 1},
        id="empty-contract",
    ),
    pytest.param(
        "non_negative_totals",
        # Day 1 still sums to 50 s of Phim Truyen and 0 s of Thieu Nhi: only the signs are wrong.
        lambda rows: changed(
            changed(rows, "C1", D1, **total(Phim_Truyen=60, Thieu_Nhi=5)),
            "C2",
            D1,
            **total(Phim_Truyen=-10, Thieu_Nhi=-5),
        ),
        {"negative_totals": 2},
        id="two-negative-cells",
    ),
    pytest.param(
        "reconciles_with_raw",
        lambda rows: changed(rows, "C1", D2, **total(Thieu_Nhi=25)),
        {"days": 2, "mismatched_day_categories": 1, "first_mismatched_day": "2022-04-02"},
        id="one-total-off",
    ),
    pytest.param(
        "reconciles_with_raw",
        # Raw day 1 has Phim Truyen, The Thao and Truyen Hinh seconds; the pivot has nothing.
        lambda rows: [row for row in rows if row["date"] != D1],
        {"days": 2, "mismatched_day_categories": 3, "first_mismatched_day": "2022-04-01"},
        id="day-missing",
    ),
]


def evaluate_pivot(pivot_check: Check, pivot: pa.Table, engine: Engine) -> Outcome:
    return pivot_check.evaluate(PivotToStore(engine, pivot=pivot, raw_days=RAW))


def test_clean_pivot_passes_every_pivot_check(engine):
    for pivot_check in PIVOT_CHECKS:
        outcome = evaluate_pivot(pivot_check, PIVOT, engine)
        assert outcome.passed, (pivot_check.name, outcome.metadata)


@pytest.mark.parametrize(("name", "change", "expected"), PIVOT_BREAKS)
def test_pivot_check_fails_on_broken_rows(name, change, expected, engine):
    broken = pa.Table.from_pylist(change(PIVOT_ROWS), schema=DAILY_PIVOT)
    assert_fails_with(evaluate_pivot(check(PIVOT_CHECKS, name), broken, engine), expected)


@DUCKDB_ONLY
@pytest.mark.parametrize(("name", "change", "expected"), PIVOT_BREAKS)
def test_each_pivot_break_breaks_only_its_own_rule(name, change, expected, engine):
    broken = pa.Table.from_pylist(change(PIVOT_ROWS), schema=DAILY_PIVOT)
    for pivot_check in PIVOT_CHECKS:
        if pivot_check.name != name:
            outcome = evaluate_pivot(pivot_check, broken, engine)
            assert outcome.passed, (pivot_check.name, outcome.metadata)


STATS_BREAKS = [
    pytest.param(
        "contracts_unique",
        lambda rows: [*rows, rows[2]],  # C3 twice; its totals are 0, so they still match
        {"rows": 4, "duplicate_contracts": 1, "missing_contracts": 0},
        id="repeated-contract",
    ),
    pytest.param(
        "contracts_unique",
        lambda rows: [*rows, {**rows[2], "Contract": ""}],
        {"duplicate_contracts": 0, "missing_contracts": 1},
        id="empty-contract",
    ),
    pytest.param(
        "active_days_in_month",
        lambda rows: changed(rows, "C2", Active=31),  # April has 30 days
        {"outside_1_to_days_in_month": 1, "max_active": 31},
        id="31-days-in-april",
    ),
    pytest.param(
        "active_days_in_month",
        lambda rows: changed(rows, "C3", Active=0),
        {"outside_1_to_days_in_month": 1, "min_active": 0},
        id="never-active",
    ),
    pytest.param(
        "most_watch_and_taste_consistent",
        lambda rows: changed(rows, "C1", MostWatch="Phim Truyen"),  # 50 s < 100 s Truyen Hinh
        {"most_watch_inconsistent": 1, "taste_inconsistent": 0},
        id="most-watch-not-largest",
    ),
    pytest.param(
        "most_watch_and_taste_consistent",
        lambda rows: changed(rows, "C2", MostWatch=None),
        {"most_watch_inconsistent": 1, "taste_inconsistent": 0},
        id="most-watch-missing",
    ),
    pytest.param(
        "most_watch_and_taste_consistent",
        lambda rows: changed(rows, "C3", MostWatch="Giai Tri"),  # nothing watched
        {"most_watch_inconsistent": 1, "taste_inconsistent": 0},
        id="most-watch-of-nothing",
    ),
    pytest.param(
        "most_watch_and_taste_consistent",
        lambda rows: changed(rows, "C2", MostWatch="Sports"),  # no such category
        {"most_watch_inconsistent": 1, "taste_inconsistent": 0},
        id="most-watch-not-a-category",
    ),
    pytest.param(
        "most_watch_and_taste_consistent",
        lambda rows: changed(rows, "C1", Taste="Truyen Hinh"),
        {"most_watch_inconsistent": 0, "taste_inconsistent": 1},
        id="taste-missing-categories",
    ),
    pytest.param(
        "most_watch_and_taste_consistent",
        lambda rows: changed(rows, "C2", Taste="Giai Tri-The Thao"),  # 0 s of Giai Tri
        {"most_watch_inconsistent": 0, "taste_inconsistent": 1},
        id="taste-unwatched-category",
    ),
    pytest.param(
        "most_watch_and_taste_consistent",
        lambda rows: changed(rows, "C2", Taste="The Thao-Sports"),  # no such category
        {"most_watch_inconsistent": 0, "taste_inconsistent": 1},
        id="taste-not-a-category",
    ),
    pytest.param(
        "totals_match_daily_pivots",
        lambda rows: changed(rows, "C2", **total(The_Thao=40)),  # still C2's largest and only
        {"differing_totals": {"Total_The_Thao": {"profiles": 40, "daily_pivots": 30}}},
        id="one-total-off",
    ),
]


@pytest.fixture
def warehouse(tmp_path):
    return connect_warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")


def evaluate_stats(stats_check: Check, stats: pa.Table, warehouse, engine: Engine) -> Outcome:
    return stats_check.evaluate(
        ProfilesToStore(engine, profiles=stats, pivot=PIVOT, warehouse=warehouse)
    )


def test_clean_stats_pass_every_stats_check(warehouse, engine):
    for stats_check in STATS_CHECKS:
        outcome = evaluate_stats(stats_check, STATS, warehouse, engine)
        assert outcome.passed, (stats_check.name, outcome.metadata)


@pytest.mark.parametrize(("name", "change", "expected"), STATS_BREAKS)
def test_stats_check_fails_on_broken_rows(name, change, expected, warehouse, engine):
    broken = pa.Table.from_pylist(change(STATS_ROWS), schema=CUSTOMER_CONTENT_STATS)
    outcome = evaluate_stats(check(STATS_CHECKS, name), broken, warehouse, engine)
    assert_fails_with(outcome, expected)


@DUCKDB_ONLY
@pytest.mark.parametrize(("name", "change", "expected"), STATS_BREAKS)
def test_each_stats_break_breaks_only_its_own_rule(name, change, expected, warehouse, engine):
    broken = pa.Table.from_pylist(change(STATS_ROWS), schema=CUSTOMER_CONTENT_STATS)
    for stats_check in STATS_CHECKS:
        if stats_check.name != name:
            outcome = evaluate_stats(stats_check, broken, warehouse, engine)
            assert outcome.passed, (stats_check.name, outcome.metadata)


def test_active_may_reach_the_last_day_of_the_month(warehouse, engine):
    stats = pa.Table.from_pylist(
        changed(STATS_ROWS, "C2", Active=30), schema=CUSTOMER_CONTENT_STATS
    )
    outcome = evaluate_stats(check(STATS_CHECKS, "active_days_in_month"), stats, warehouse, engine)
    assert outcome.passed


def _reordered(schema: pa.Schema) -> pa.Schema:
    names = schema.names
    i, j = names.index("MostWatch"), names.index("Taste")
    fields = list(schema)
    fields[i], fields[j] = fields[j], fields[i]
    return pa.schema(fields, metadata=schema.metadata)


def _renamed(schema: pa.Schema) -> pa.Schema:
    i = schema.get_field_index("Taste")
    return schema.set(i, schema.field(i).with_name("Tastes"))


@pytest.mark.parametrize(
    ("table_schema", "expected"),
    [
        pytest.param(None, {"exists": False}, id="no-table-yet"),
        pytest.param(CUSTOMER_CONTENT_STATS, {"missing_in_warehouse": []}, id="same-columns"),
        pytest.param(
            CUSTOMER_CONTENT_STATS.append(pa.field("Region", pa.string())),
            {"missing_in_warehouse": [], "unexpected_in_warehouse": ["Region"]},
            id="extra-column",
        ),
        pytest.param(
            CUSTOMER_CONTENT_STATS.remove(CUSTOMER_CONTENT_STATS.get_field_index("Taste")),
            {"missing_in_warehouse": ["Taste"], "unexpected_in_warehouse": []},
            id="missing-column",
        ),
        pytest.param(
            _renamed(CUSTOMER_CONTENT_STATS),
            {"missing_in_warehouse": ["Taste"], "unexpected_in_warehouse": ["Tastes"]},
            id="renamed-column",
        ),
        pytest.param(
            _reordered(CUSTOMER_CONTENT_STATS),
            {"missing_in_warehouse": [], "unexpected_in_warehouse": [], "order_differs": True},
            id="reordered-columns",
        ),
    ],
)
@DUCKDB_ONLY
def test_warehouse_schema(table_schema, expected, warehouse, engine):
    if table_schema is not None:
        warehouse.replace("customer_content_stats", table_schema.empty_table(), None)
    outcome = evaluate_stats(check(STATS_CHECKS, "warehouse_schema"), STATS, warehouse, engine)
    passes = table_schema is None or table_schema.names == CUSTOMER_CONTENT_STATS.names
    assert outcome.passed is passes
    assert figures(outcome)["table"] == "customer_content_stats"
    assert {key: figures(outcome)[key] for key in expected} == expected


def test_every_check_has_a_case():
    tested = {
        *RAW_CASES,
        "daily_volume",
        *(case.values[0] for case in [*PIVOT_BREAKS, *STATS_BREAKS]),
        "warehouse_schema",
    }
    assert tested == {c.name for c in [*RAW_CHECKS, *PIVOT_CHECKS, *STATS_CHECKS]}


# --- a blocking failure through Dagster --------------------------------------------------------

APRIL_DAYS = [APRIL + timedelta(days=offset) for offset in range(30)]


def _write_april(project) -> None:
    """Two contracts on the 1st; on each other day one zero-second record of contract FILL, so
    that no day is empty (an empty day blocks raw_log_content)."""
    for day in APRIL_DAYS:
        lines = [content_line(f"f{day:%d}", "FILL", "KPLUS", 0)]
        if day == APRIL:
            lines = [content_line("a1", "C1", "KPLUS", 100), content_line("a2", "C2", "SPORT", 30)]
        project.write_content_day(day, lines)


def _materialize_april_days(project, instance) -> dg.ExecuteInProcessResult:
    """The 30 days of April in one run, as a single-run backfill."""
    return dg.materialize(
        [raw_log_content, daily_pivot],
        resources=project.resources(),
        instance=instance,
        tags=range_tags("2022-04-01", "2022-04-30"),
    )


def _warehouse_rows(project) -> list[tuple]:
    table = connect_warehouse(project.settings.warehouse_url).read("customer_content_stats", None)
    return sorted(tuple(row.values()) for row in table.to_pylist())


def test_blocking_stats_check_keeps_last_good_month(project, instance, monkeypatch):
    readers = []

    # Stands for whatever reads the month's profiles after they are stored.
    @dg.asset(partitions_def=content_monthly, deps=[customer_content_stats])
    def profiles_reader():
        readers.append("ran")

    def materialize_month():
        return dg.materialize(
            [raw_log_content, daily_pivot, customer_content_stats, profiles_reader],
            resources=project.resources(),
            instance=instance,
            partition_key="2022-04-01",
            selection=[customer_content_stats, profiles_reader],
            raise_on_error=False,
        )

    _write_april(project)
    assert _materialize_april_days(project, instance).success
    assert materialize_month().success
    assert readers == ["ran"]
    stored = _warehouse_rows(project)
    zeros = (0, 0, 0, 0, 0)
    assert stored == [
        (APRIL, "C1", *zeros[:4], 100, 1, "Truyen Hinh", "Truyen Hinh"),
        (APRIL, "C2", 0, 0, 30, 0, 0, 1, "The Thao", "The Thao"),
        (APRIL, "FILL", *zeros, 29, None, None),
    ]
    csv = project.root / "exports" / "customer_content_stats" / "2022-04-01.csv"
    exported = csv.read_bytes()

    # An engine that counts 31 days for FILL in April. A duplicated contract would also be
    # refused by the warehouse's primary key; an impossible Active is refused by the check only.
    real = content.customer_content_stats

    def miscounting(daily) -> Query:
        return Query(
            """SELECT * REPLACE (CASE WHEN Contract = 'FILL' THEN 31 ELSE Active END AS Active)
               FROM stats""",
            CUSTOMER_CONTENT_STATS,
            {"stats": real(daily)},
        )

    monkeypatch.setattr(content, "customer_content_stats", miscounting)
    result = materialize_month()

    assert not result.success
    assert result.get_failed_step_keys() == {"customer_content_stats"}
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {c.name for c in STATS_CHECKS}
    failed = evaluations["active_days_in_month"]
    assert (failed.passed, failed.severity) == (False, ERROR)
    assert failed.metadata["outside_1_to_days_in_month"].value == 1
    assert failed.metadata["max_active"].value == 31
    assert [name for name, e in evaluations.items() if not e.passed] == ["active_days_in_month"]

    assert result.asset_materializations_for_node("customer_content_stats") == []
    assert _warehouse_rows(project) == stored
    assert csv.read_bytes() == exported
    assert readers == ["ran"]  # not a second time
    assert result.is_node_untouched("profiles_reader")  # abandoned: never started


def test_a_mostly_rejected_day_is_not_stored_and_the_month_keeps_its_profiles(project, instance):
    _write_april(project)
    assert _materialize_april_days(project, instance).success

    def materialize_month():
        return dg.materialize(
            [raw_log_content, daily_pivot, customer_content_stats],
            resources=project.resources(),
            instance=instance,
            partition_key="2022-04-01",
            selection=[customer_content_stats],
        )

    assert materialize_month().success
    stored = _warehouse_rows(project)
    zeros = (0, 0, 0, 0, 0)
    assert stored == [
        (APRIL, "C1", *zeros[:4], 100, 1, "Truyen Hinh", "Truyen Hinh"),
        (APRIL, "C2", 0, 0, 30, 0, 0, 1, "The Thao", "The Thao"),
        (APRIL, "FILL", *zeros, 29, None, None),
    ]
    csv = project.root / "exports" / "customer_content_stats" / "2022-04-01.csv"
    exported = csv.read_bytes()
    lake = project.resources()["lake"]
    day_files = [
        lake.partition_file(asset, "2022-04-02")
        for asset in ("raw_log_content", "content_quarantine", "daily_pivot")
    ]
    before = [project.lake.read_buffer(path).to_pybytes() for path in day_files]

    # The 2nd again, broken: 30 lines, of which 10 truncated (malformed_json), 10 of contract
    # "0" (invalid_contract) and 10 valid lines of C9, 500 s of VOD each. Were they stored, C9
    # would get 5,000 s of Phim Truyen and FILL would lose the 2nd.
    truncated = [content_line(f"t{n}", "C9", "VOD", 500)[:40] for n in range(10)]
    no_contract = [content_line(f"z{n}", "0", "VOD", 500) for n in range(10)]
    valid = [content_line(f"v{n}", "C9", "VOD", 500) for n in range(10)]
    project.write_content_day(date(2022, 4, 2), truncated + no_contract + valid)
    result = dg.materialize(
        [raw_log_content, daily_pivot],
        resources=project.resources(),
        instance=instance,
        partition_key="2022-04-02",
        raise_on_error=False,
    )

    assert not result.success
    assert result.get_failed_step_keys() == {"raw_log_content"}
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = {name: e.severity for name, e in evaluations.items() if not e.passed}
    # A third unreadable passes file_schema (limit 0.5); only the share of all reasons blocks.
    assert failed == {"quarantine_share": WARN, "rejected_share": ERROR}
    rejected = evaluations["rejected_share"].metadata
    assert rejected["worst_day"].value == "2022-04-02"
    assert rejected["rejected_share"].value == 20 / 30
    assert (rejected["rejected_rows"].value, rejected["rows"].value) == (20, 30)
    assert rejected["limit"].value == 0.25
    failure = result.failure_data_for_node("raw_log_content").user_failure_data
    assert failure.description == (
        "raw_log_content not stored: blocking check(s) failed: rejected_share"
    )
    assert failure.metadata["rejected_share"].value["rejected_share"] == 20 / 30
    # Neither the valid rows nor the quarantine of the 2nd were written, nor its pivot.
    assert result.asset_materializations_for_node("raw_log_content") == []
    assert result.is_node_untouched("daily_pivot")
    assert [project.lake.read_buffer(path).to_pybytes() for path in day_files] == before
    # Still the one FILL line of the 2nd, and no quarantined line.
    assert lake.row_count("raw_log_content", "2022-04-02") == 1
    assert lake.row_count("content_quarantine", "2022-04-02") == 0

    # The month reads the 2nd as it was stored before: the same profiles, the same CSV.
    assert materialize_month().success
    assert _warehouse_rows(project) == stored
    assert csv.read_bytes() == exported
