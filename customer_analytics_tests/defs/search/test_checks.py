"""The checks of the search-log chain: each rule broken by a few hand-made rows, then the same
rows made clean. The checks that run SQL (user_ids_present, the top-keyword and taste checks) run
on DuckDB and on Spark (the `engine` fixture); those that only count the days run on DuckDB, and
the keyword_category checks are plain Arrow. Every expected figure is worked out by hand from the
rows next to it."""

from dataclasses import replace
from datetime import UTC, date, datetime

import dagster as dg
import pyarrow as pa
import pytest

from customer_analytics.defs.search.assets import (
    customer_search_stats,
    keyword_category,
    monthly_top_keyword,
    raw_log_search,
)
from customer_analytics.defs.search.checks import (
    CATEGORY_CHECKS,
    RAW_CHECKS,
    STATS_CHECKS,
    TOP_KEYWORD_CHECKS,
    KeywordCategories,
    SearchStatsToStore,
    TopKeywordsToStore,
)
from customer_analytics.defs.search.classifiers.cache import KeywordCache
from customer_analytics.defs.search.classifiers.classifier import Classification
from customer_analytics.defs.search.schemas import (
    KEYWORD_CATEGORY,
    MONTHLY_TOP_KEYWORD,
    RAW_LOG_SEARCH,
    SEARCH_QUARANTINE,
)
from customer_analytics.engines.base import Engine
from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics.lib.checks import ERROR, WARN, Check, CheckThresholds, Outcome
from customer_analytics.lib.raw_checks import PartitionCounts, ValidatedPartitions
from customer_analytics.rules.tables import CUSTOMER_SEARCH_STATS
from customer_analytics_tests.fixtures.engines import ENGINES
from customer_analytics_tests.lib.outcomes import assert_fails_with, check, figures

# createDataFrame checks the installed pandas even when given Arrow tables.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)
# For the tests whose checks only count: the `engine` fixture on DuckDB alone.
DUCKDB_ONLY = pytest.mark.parametrize("engine", ["duckdb"], indirect=True)

JUNE = date(2022, 6, 1)
D1, D2 = JUNE, date(2022, 6, 2)


# --- raw checks --------------------------------------------------------------------------------


def validated(
    *days: PartitionCounts, user_ids: tuple[str, ...] = (), trailing: dict | None = None
) -> ValidatedPartitions:
    """Days with the given counts; `user_ids` become the valid searches of the first day.

    No engine yet: each test runs the days `on` its own."""
    valid = pa.Table.from_pylist(
        [
            {
                "date": days[0].partition,
                "eventID": f"e{n}",
                "datetime": datetime(2022, 6, 1, 20, 15),
                "user_id": user_id,
                "keyword": "one piece",
                "raw_keyword": "One Piece",
                "platform": "smarttv-sony",
                "proxy_isp": "vnpt",
                "networkType": "wifi",
            }
            for n, user_id in enumerate(user_ids)
        ],
        schema=RAW_LOG_SEARCH,
    )
    return ValidatedPartitions(
        partitions=list(days),
        engine=None,
        valid=valid,
        quarantine=SEARCH_QUARANTINE.empty_table(),
        trailing_rows=trailing or {counts.partition: [] for counts in days},
        thresholds=CheckThresholds(),
    )


def on(engine: Engine, days: ValidatedPartitions) -> ValidatedPartitions:
    return replace(days, engine=engine)


RAW_CASES = {
    # A blank and a space-only id among four valid searches; leading zeros are an id.
    "user_ids_present": (
        validated(PartitionCounts(D1, 4, {}), user_ids=("0012", "", "  ", "7")),
        validated(PartitionCounts(D1, 4, {}), user_ids=("0012", "12", "8", "7")),
        {"valid_rows_without_user": 2},
    ),
    # 10 voice searches of 100 rows on the 2nd (limit 0.02); clean: 2 of 100, the limit.
    "quarantine_share": (
        validated(PartitionCounts(D1, 100, {}), PartitionCounts(D2, 90, {"voice_search": 10})),
        validated(PartitionCounts(D1, 100, {}), PartitionCounts(D2, 98, {"voice_search": 2})),
        {
            "over_limit": [{"day": "2022-06-02", "reason": "voice_search", "share": 0.1}],
            "share_by_reason": {
                "invalid_user_id": 0.0,
                "user_id_too_long": 0.0,
                "not_search_action": 0.0,
                "empty_keyword": 0.0,
                "keyword_too_long": 0.0,
                "voice_search": 0.05,  # 10 of 200 rows
                "invalid_datetime": 0.0,
                "duplicate_event": 0.0,
            },
        },
    ),
    # 8 rows without a user id of 10 on the 2nd (limit 0.25); clean: 15 + 10 of 100, the limit.
    "rejected_share": (
        validated(PartitionCounts(D1, 100, {}), PartitionCounts(D2, 2, {"invalid_user_id": 8})),
        validated(
            PartitionCounts(D1, 100, {}),
            PartitionCounts(D2, 75, {"invalid_user_id": 15, "duplicate_event": 10}),
        ),
        {
            "worst_day": "2022-06-02",
            "rejected_share": 0.8,
            "rejected_rows": 8,
            "rows": 10,
            "limit": 0.25,
            "days_over_limit": ["2022-06-02"],
            "rejected_share_by_day": {"2022-06-01": 0.0, "2022-06-02": 0.8},
        },
    ),
}
# The raw checks that query the valid rows run on both engines; the others only count.
QUERYING_RAW_CHECKS = {"user_ids_present"}
RAW_CASE_ENGINES = [
    (name, engine_name)
    for name in RAW_CASES
    for engine_name in (ENGINES if name in QUERYING_RAW_CHECKS else ("duckdb",))
]


@pytest.mark.parametrize(("name", "engine"), RAW_CASE_ENGINES, indirect=["engine"])
def test_raw_check_fails_on_broken_days_and_passes_on_clean_ones(name, engine):
    broken, clean, expected = RAW_CASES[name]
    raw_check = check(RAW_CHECKS, name)
    assert_fails_with(raw_check.evaluate(on(engine, broken)), expected)
    assert raw_check.evaluate(on(engine, clean)).passed


@pytest.mark.parametrize(
    ("rows", "trailing", "severity", "expected"),
    [
        pytest.param(0, [50], ERROR, {"empty_days": ["2022-06-02"]}, id="empty-blocks"),
        pytest.param(
            20,
            [50, 40],  # median 45, half of it 22.5
            WARN,
            {"low_days": [{"day": "2022-06-02", "rows": 20, "trailing_median": 45}]},
            id="low-warns",
        ),
        pytest.param(23, [50, 40], None, {"low_days": []}, id="normal"),
        pytest.param(1, [], None, {"low_days": []}, id="no-history"),
    ],
)
@DUCKDB_ONLY
def test_daily_volume(rows, trailing, severity, expected, engine):
    volume = check(RAW_CHECKS, "daily_volume")
    days = validated(
        PartitionCounts(D1, 50, {}), PartitionCounts(D2, rows, {}), trailing={D1: [], D2: trailing}
    )
    outcome = volume.evaluate(on(engine, days))
    assert outcome.passed is (severity is None)
    assert {key: figures(outcome)[key] for key in expected} == expected
    if severity is not None:
        assert (outcome.severity or volume.severity) == severity


# --- monthly_top_keyword -----------------------------------------------------------------------


def top(user_id: str, keyword: str) -> dict:
    return {
        "month": JUNE,
        "user_id": user_id,
        "keyword": keyword,
        "search_count": 2,
        "total_searches": 3,
    }


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [top("0012", "one piece"), top("12", "conan"), top("0012", "conan")],
            {"rows": 3, "duplicate_users": 1},
            id="two-top-keywords-for-a-user",
        ),
        # "0012" and "12" are two users.
        pytest.param([top("0012", "one piece"), top("12", "conan")], None, id="clean"),
    ],
)
def test_one_top_keyword_per_user(rows, expected, engine):
    table = pa.Table.from_pylist(rows, schema=MONTHLY_TOP_KEYWORD)
    outcome = check(TOP_KEYWORD_CHECKS, "one_top_keyword_per_user").evaluate(
        TopKeywordsToStore(engine, top_keywords=table)
    )
    if expected is None:
        assert outcome.passed
    else:
        assert_fails_with(outcome, expected)


# --- keyword_category --------------------------------------------------------------------------

KEYWORDS = pa.array(["one piece", "conan", "bong da", "thoi su"])


def categories(*pairs: tuple[str, str]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "keyword": keyword,
                "category": category,
                "source": "rules",
                "model": "lexicon-1",
                "classified_at": datetime(2022, 7, 1, tzinfo=UTC),
            }
            for keyword, category in pairs
        ],
        schema=KEYWORD_CATEGORY,
    )


CLEAN = [("one piece", "Animation"), ("conan", "Animation"), ("bong da", "Sports")]
CLEAN_CATEGORIES = categories(*CLEAN, ("thoi su", "News"))


def evaluate_category_check(name: str, table: pa.Table, thresholds=None) -> Outcome:
    return check(CATEGORY_CHECKS, name).evaluate(
        KeywordCategories(KEYWORDS, table, thresholds or CheckThresholds())
    )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        pytest.param(
            categories(*CLEAN),
            {"unclassified_keywords": 1, "off_list_categories": 0},
            id="keyword-without-category",
        ),
        pytest.param(
            categories(*CLEAN, ("thoi su", "Current Affairs")),
            {"unclassified_keywords": 0, "off_list_categories": 1},
            id="category-off-the-list",
        ),
    ],
)
def test_categories_valid(table, expected):
    assert_fails_with(evaluate_category_check("categories_valid", table), expected)
    assert evaluate_category_check("categories_valid", CLEAN_CATEGORIES).passed


@pytest.mark.parametrize(
    ("table", "thresholds", "passed", "share"),
    [
        pytest.param(
            categories(*CLEAN[:2], ("bong da", "Other"), ("thoi su", "Other")),
            CheckThresholds(),
            False,
            0.5,
            id="half-other",
        ),
        pytest.param(
            categories(*CLEAN[:2], ("bong da", "Other"), ("thoi su", "Other")),
            CheckThresholds(max_other_share=0.5),
            True,
            0.5,
            id="half-other-with-a-raised-limit",
        ),
        pytest.param(
            categories(*CLEAN, ("thoi su", "Other")), CheckThresholds(), True, 0.25, id="a-quarter"
        ),
    ],
)
def test_other_share(table, thresholds, passed, share):
    outcome = evaluate_category_check("other_share", table, thresholds)
    assert outcome.passed is passed
    assert figures(outcome)["other_share"] == share


def test_clean_categories_pass_every_category_check():
    for category_check in CATEGORY_CHECKS:
        outcome = category_check.evaluate(
            KeywordCategories(KEYWORDS, CLEAN_CATEGORIES, CheckThresholds())
        )
        assert outcome.passed, (category_check.name, outcome.metadata)


# --- customer_search_stats ---------------------------------------------------------------------


def stats_row(user_id, prev, cur, taste) -> dict:
    """`prev` and `cur` are (keyword, category) or None."""
    keyword_prev, category_prev = prev or (None, None)
    keyword_cur, category_cur = cur or (None, None)
    return {
        "month": JUNE,
        "user_id": user_id,
        "keyword_prev": keyword_prev,
        "category_prev": category_prev,
        "keyword_cur": keyword_cur,
        "category_cur": category_cur,
        "taste": taste,
    }


STATS_ROWS = [
    stats_row("u1", ("conan", "Animation"), ("one piece", "Animation"), "Unchanged"),
    stats_row("u2", ("conan", "Animation"), ("bong da", "Sports"), "Changed"),
    stats_row("u3", None, ("thoi su", "News"), "New"),
    stats_row("u4", ("bong da", "Sports"), None, "Churned"),
]


@pytest.fixture
def warehouse(tmp_path):
    return connect_warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")


# The stats schema with every column nullable: Spark refuses a NULL in a NOT NULL column of the
# table it is given, and the no-taste case is a NULL taste.
NULLABLE_STATS = pa.schema(
    [field.with_nullable(True) for field in CUSTOMER_SEARCH_STATS],
    metadata=CUSTOMER_SEARCH_STATS.metadata,
)


def evaluate_stats(stats_check: Check, rows: list[dict], warehouse, engine: Engine) -> Outcome:
    table = pa.Table.from_pylist(rows, schema=NULLABLE_STATS)
    return stats_check.evaluate(SearchStatsToStore(engine, stats=table, warehouse=warehouse))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [*STATS_ROWS[:1], {**STATS_ROWS[1], "taste": "Unchanged"}, *STATS_ROWS[2:]],
            {"inconsistent": 1, "duplicate_users": 0},
            id="changed-called-unchanged",
        ),
        pytest.param(
            [*STATS_ROWS[:3], {**STATS_ROWS[3], "taste": None}],
            {"inconsistent": 1, "duplicate_users": 0},
            id="no-taste",
        ),
        pytest.param(
            [*STATS_ROWS, {**STATS_ROWS[0], "keyword_cur": "conan"}],
            {"inconsistent": 0, "duplicate_users": 1},
            id="user-twice",
        ),
    ],
)
def test_taste_consistent(rows, expected, warehouse, engine):
    taste = check(STATS_CHECKS, "taste_consistent")
    assert_fails_with(evaluate_stats(taste, rows, warehouse, engine), expected)


def test_clean_stats_pass_every_stats_check(warehouse, engine):
    for stats_check in STATS_CHECKS:
        outcome = evaluate_stats(stats_check, STATS_ROWS, warehouse, engine)
        assert outcome.passed, (stats_check.name, outcome.metadata)


@pytest.mark.parametrize(
    ("table_schema", "expected"),
    [
        pytest.param(CUSTOMER_SEARCH_STATS, None, id="same-columns"),
        pytest.param(
            # A warehouse table still carrying a column the asset no longer writes.
            CUSTOMER_SEARCH_STATS.append(pa.field("keyword_prev2", pa.string())),
            {"missing_in_warehouse": [], "unexpected_in_warehouse": ["keyword_prev2"]},
            id="extra-column",
        ),
        pytest.param(
            CUSTOMER_SEARCH_STATS.remove(CUSTOMER_SEARCH_STATS.get_field_index("taste")),
            {"missing_in_warehouse": ["taste"], "unexpected_in_warehouse": []},
            id="missing-column",
        ),
    ],
)
@DUCKDB_ONLY
def test_warehouse_schema(table_schema, expected, warehouse, engine):
    warehouse.replace("customer_search_stats", table_schema.empty_table(), None)
    outcome = evaluate_stats(check(STATS_CHECKS, "warehouse_schema"), STATS_ROWS, warehouse, engine)
    assert figures(outcome)["table"] == "customer_search_stats"
    if expected is None:
        assert outcome.passed
    else:
        assert_fails_with(outcome, expected)


def test_every_check_has_a_case():
    tested = {
        *RAW_CASES,
        "daily_volume",
        "one_top_keyword_per_user",
        "categories_valid",
        "other_share",
        "taste_consistent",
        "warehouse_schema",
    }
    lists = [RAW_CHECKS, TOP_KEYWORD_CHECKS, CATEGORY_CHECKS, STATS_CHECKS]
    assert tested == {c.name for checks in lists for c in checks}


# --- a mostly rejected day through Dagster -----------------------------------------------------

SEARCH_ASSETS = [raw_log_search, monthly_top_keyword, keyword_category, customer_search_stats]
MONTHLY = [monthly_top_keyword, keyword_category, customer_search_stats]


def _materialize(project, instance, selection, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        SEARCH_ASSETS,
        selection=selection,
        resources=project.resources(),
        instance=instance,
        raise_on_error=False,
        **kwargs,
    )


def _june_stats(project) -> list[tuple]:
    table = connect_warehouse(project.settings.warehouse_url).read(
        "customer_search_stats", ("month", JUNE, date(2022, 7, 1))
    )
    return sorted(tuple(row.values()) for row in table.to_pylist())


def test_a_mostly_rejected_day_is_not_stored_and_the_month_keeps_its_stats(project, instance):
    project.write_search_day(
        D1,
        [
            {"eventID": "a1", "user_id": "0014111", "keyword": "Running Man"},
            {"eventID": "a2", "user_id": "777", "keyword": "bolero"},
        ],
    )
    project.write_search_day(
        D2,
        [
            {"eventID": "b1", "user_id": "0014111", "keyword": "running man"},
            {"eventID": "b2", "user_id": "777", "keyword": "Bolero"},
        ],
    )
    seeded_at = datetime(2022, 8, 1, tzinfo=UTC)
    KeywordCache(connect_warehouse(project.settings.warehouse_url)).store(
        [
            Classification("running man", "Reality Show", "manual", "hand", seeded_at),
            Classification("bolero", "Music", "manual", "hand", seeded_at),
        ]
    )
    days = {
        "dagster/asset_partition_range_start": "2022-06-01",
        "dagster/asset_partition_range_end": "2022-06-02",
    }
    assert _materialize(project, instance, [raw_log_search], tags=days).success
    assert _materialize(project, instance, MONTHLY, partition_key="2022-06-01").success
    # Two searches each, on the 1st and the 2nd; June is the first month, so both are New.
    stored = _june_stats(project)
    assert stored == [
        (JUNE, "0014111", None, None, "running man", "Reality Show", "New"),
        (JUNE, "777", None, None, "bolero", "Music", "New"),
    ]
    lake = project.resources()["lake"]
    day_files = [
        lake.partition_file(asset, "2022-06-02")
        for asset in ("raw_log_search", "search_quarantine")
    ]
    before = [project.lake.read_buffer(path).to_pybytes() for path in day_files]

    # The 2nd again, broken: 8 of its 10 rows have an empty user_id (invalid_user_id). Were the
    # other two stored, 777's top keyword of June would be doraemon (2 searches to bolero's 1).
    empty_users = [{"eventID": f"c{n}", "user_id": "", "keyword": "doraemon"} for n in range(8)]
    kept = [{"eventID": f"d{n}", "user_id": "777", "keyword": "doraemon"} for n in range(2)]
    project.write_search_day(D2, empty_users + kept)
    result = _materialize(project, instance, [raw_log_search], partition_key="2022-06-02")

    assert not result.success
    assert result.get_failed_step_keys() == {"raw_log_search"}
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    # The two valid rows have user ids: only the share of rejected rows blocks.
    assert {name: e.severity for name, e in evaluations.items() if not e.passed} == {
        "quarantine_share": WARN,
        "rejected_share": ERROR,
    }
    rejected = evaluations["rejected_share"].metadata
    assert rejected["worst_day"].value == "2022-06-02"
    assert rejected["rejected_share"].value == 0.8
    assert (rejected["rejected_rows"].value, rejected["rows"].value) == (8, 10)
    assert rejected["limit"].value == 0.25
    assert result.asset_materializations_for_node("raw_log_search") == []
    # Neither the valid rows nor the quarantine of the 2nd were written.
    assert [project.lake.read_buffer(path).to_pybytes() for path in day_files] == before
    assert lake.row_count("raw_log_search", "2022-06-02") == 2
    assert lake.row_count("search_quarantine", "2022-06-02") == 0

    # June reads the 2nd as it was stored before: the same tastes.
    assert _materialize(project, instance, MONTHLY, partition_key="2022-06-01").success
    assert _june_stats(project) == stored
