"""DuckDB and Spark give the same tables, row for row, on the sample data with all its dirt.

Once per module: the generator writes 4 content days of 50,000 lines and 2 search days in each
of June and July 2022; each engine runs both chains end to end (`chain.py`), writing every
output to its own lake as production does: DuckDB, Spark in local mode, and Spark on a real
standalone cluster on loopback (master and two workers), as its driver and through its Spark
Connect server (`chain_driver.py`). Each test then compares one table of DuckDB's lake with
Spark's, read back with Arrow and cast to its schema, in file order. Two more tests check that the sample
is dirty enough for the comparison to mean something, and that the counts the generator
promises hold on each engine.
"""

import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from customer_analytics.defs.content import rules as content_rules
from customer_analytics.defs.search import rules as search_rules
from customer_analytics.defs.search.classifiers.rules_classifier import RulesClassifier
from customer_analytics.defs.search.sample_data import DUPLICATE_EVENT_SHARE
from customer_analytics.engines.duckdb import DuckDBEngine
from customer_analytics.engines.storage import Location
from customer_analytics.sample_data import (
    DIRT,
    Contracts,
    DayFile,
    SearchUsers,
    default_contracts,
    dirt_counts,
    generate_content_day,
    generate_search_day,
)
from customer_analytics_tests.engines.chain import ChainRun, run_content_chain, run_search_chain
from customer_analytics_tests.spark_cluster import (
    Cluster,
    environment_without_spark_addresses,
    run_client,
)

SEED = 42
CONTENT_DAYS = tuple(date(2022, 4, 1) + timedelta(days=i) for i in range(4))
LINES_PER_DAY = 50_000
# Two consecutive months of the search export (sample_data.search.SEARCH_DAYS), two days each.
SEARCH_DAYS = (date(2022, 6, 1), date(2022, 6, 2), date(2022, 7, 1), date(2022, 7, 2))
SEARCH_USERS = 2_000
SEARCHES_PER_DAY = 3_000

# keyword_category, for the chain drivers on the cluster.
CATEGORIES_FILE = "categories.parquet"
# Where the chains run on the loopback cluster: by a driver of its own, and through Connect.
CLUSTER_SESSIONS = ("cluster", "connect")

CONTENT_TABLES = ("raw_log_content", "content_quarantine", "daily_pivot", "customer_content_stats")
SEARCH_TABLES = (
    "raw_log_search",
    "search_quarantine",
    "monthly_top_keyword",
    "customer_search_stats",
)


@dataclass(frozen=True)
class Sample:
    root: Path
    raw: Location
    content_files: tuple[DayFile, ...]
    search_files: tuple[DayFile, ...]
    categories: pa.Table


def _categories(search_files: tuple[DayFile, ...]) -> pa.Table:
    """keyword_category for every normalized keyword of the sample, by the offline `rules`
    classifier; one keyword in eight is left out, so that some top keywords have no category.
    Computed from the raw files, so both engines get the very same table."""
    keywords = pa.chunked_array(
        [pq.read_table(f.path, columns=["keyword"])["keyword"] for f in search_files]
    )
    normalized = pc.unique(search_rules.normalize_keywords(keywords)).drop_null().to_pylist()
    classifier = RulesClassifier()
    kept = sorted(k for k in normalized if k and zlib.crc32(k.encode()) % 8)
    return pa.table(
        {"keyword": kept, "category": [classifier.category(k) for k in kept]},
        schema=pa.schema([("keyword", pa.string()), ("category", pa.string())]),
    )


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    root = tmp_path_factory.mktemp("parity")
    raw = root / "raw"
    contracts = Contracts.build(SEED, default_contracts(LINES_PER_DAY))
    content_files = tuple(
        generate_content_day(raw, day, contracts, lines=LINES_PER_DAY) for day in CONTENT_DAYS
    )
    users = SearchUsers.build(SEED, SEARCH_USERS)
    search_files = tuple(
        generate_search_day(raw, day, users, rows=SEARCHES_PER_DAY) for day in SEARCH_DAYS
    )
    categories = _categories(search_files)
    pq.write_table(categories, root / CATEGORIES_FILE)
    return Sample(root, Location(str(raw)), content_files, search_files, categories)


@pytest.fixture(scope="module")
def engines(spark):
    from customer_analytics.engines.spark import SparkEngine

    opened = {"duckdb": DuckDBEngine(), "spark": SparkEngine(spark)}
    yield opened
    for engine in opened.values():
        engine.close()


def _on_each_engine(engines, sample: Sample, domain: str, chain) -> dict[str, ChainRun]:
    runs = {}
    for name, engine in engines.items():
        try:
            runs[name] = chain(engine, Location(str(sample.root / f"lake_{name}")))
        except Exception as error:
            error.add_note(f"The {domain} chain fails on the {name} engine.")
            raise
    return runs


@pytest.fixture(scope="module")
def content_runs(engines, sample: Sample) -> dict[str, ChainRun]:
    return _on_each_engine(
        engines,
        sample,
        "content",
        lambda engine, lake: run_content_chain(engine, sample.raw, lake, CONTENT_DAYS),
    )


@pytest.fixture(scope="module")
def search_runs(engines, sample: Sample) -> dict[str, ChainRun]:
    return _on_each_engine(
        engines,
        sample,
        "search",
        lambda engine, lake: run_search_chain(
            engine, sample.raw, lake, SEARCH_DAYS, sample.categories
        ),
    )


def _iso_days(days: tuple[date, ...]) -> str:
    return ",".join(day.isoformat() for day in days)


@pytest.fixture(scope="module")
def cluster_runs(spark_cluster: Cluster, sample: Sample) -> dict[str, dict[str, ChainRun]]:
    """Both chains on the loopback cluster, once by a driver of its own and once through its
    Connect server; each session's runs by chain."""
    runs = {}
    for session in CLUSTER_SESSIONS:
        address = (
            {"SPARK_MASTER_URL": spark_cluster.master_url, "SPARK_DRIVER_MEMORY": "1g"}
            if session == "cluster"
            else {"SPARK_REMOTE": spark_cluster.remote_url}
        )
        lake = sample.root / f"lake_spark_{session}"
        files = run_client(
            "customer_analytics_tests.engines.chain_driver",
            environment_without_spark_addresses(
                COMPUTE_ENGINE="spark", DAGSTER_HOME=str(sample.root), **address
            ),
            *(str(sample.raw.uri), str(lake), str(sample.root / CATEGORIES_FILE)),
            *(_iso_days(CONTENT_DAYS), _iso_days(SEARCH_DAYS)),
        )
        runs[session] = {
            chain: ChainRun(Location(str(lake)), files=files[chain]) for chain in files
        }
    return runs


def _key(row: dict) -> tuple:
    return tuple(row.values())


def assert_same_rows(table: str, runs: dict[str, ChainRun]) -> None:
    """The table's rows are the same on every engine, in the same order; otherwise the message
    gives how many differ, the first differing row of each engine, and the rows that only one
    engine has (as multisets, to tell an order difference from a value difference)."""
    (left, a), (right, b) = ((name, run.read(table).to_pylist()) for name, run in runs.items())
    if a == b:
        return
    differing = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
    first = differing[0] if differing else min(len(a), len(b))
    only_left = Counter(map(_key, a)) - Counter(map(_key, b))
    only_right = Counter(map(_key, b)) - Counter(map(_key, a))
    pytest.fail(
        f"{table}: {left} has {len(a):,} rows, {right} {len(b):,}; {len(differing):,} of the "
        f"first {min(len(a), len(b)):,} positions differ, the first at row {first}:\n"
        f"  {left:6}: {a[first] if first < len(a) else '(no row)'}\n"
        f"  {right:6}: {b[first] if first < len(b) else '(no row)'}\n"
        f"{sum(only_left.values()):,} rows only on {left}, e.g. {list(only_left)[:3]}\n"
        f"{sum(only_right.values()):,} rows only on {right}, e.g. {list(only_right)[:3]}",
        pytrace=False,
    )


@pytest.mark.parametrize("table", CONTENT_TABLES)
def test_content_table_is_the_same_on_both_engines(content_runs, table):
    assert_same_rows(table, content_runs)


@pytest.mark.parametrize("table", SEARCH_TABLES)
def test_search_table_is_the_same_on_both_engines(search_runs, table):
    assert_same_rows(table, search_runs)


@pytest.mark.parametrize("table", CONTENT_TABLES + SEARCH_TABLES)
@pytest.mark.parametrize("session", CLUSTER_SESSIONS)
def test_the_tables_are_the_same_on_a_cluster(
    content_runs, search_runs, cluster_runs, session, table
):
    """Spark on the loopback cluster, as a driver and as a Connect client, gives DuckDB's tables."""
    chain = "content" if table in CONTENT_TABLES else "search"
    on_duckdb = (content_runs if chain == "content" else search_runs)["duckdb"]
    assert_same_rows(table, {"duckdb": on_duckdb, f"spark {session}": cluster_runs[session][chain]})


def _reasons_by_day(run: ChainRun, table: str) -> dict[date, Counter]:
    rows = run.read(table).select(["date", "reason"]).to_pylist()
    counts: dict[date, Counter] = {}
    for row in rows:
        counts.setdefault(row["date"], Counter())[row["reason"]] += 1
    return counts


def _rows_by_day(run: ChainRun, table: str) -> Counter:
    return Counter(run.read(table)["date"].to_pylist())


def test_content_sample_is_dirty_as_the_generator_says(sample, content_runs):
    """Every line is valid or quarantined, and each kind of dirt the generator puts in a day
    gives its quarantine reason that many times: on both engines."""
    expected = Counter()
    for kind, count in dirt_counts(LINES_PER_DAY).items():
        if DIRT[kind].reason is not None:
            expected[DIRT[kind].reason] += count
    assert len(expected) >= 5, expected
    assert all(f.rows == LINES_PER_DAY for f in sample.content_files)
    assert sum(f.rows for f in sample.content_files) >= 200_000
    for name, run in content_runs.items():
        reasons = _reasons_by_day(run, "content_quarantine")
        valid = _rows_by_day(run, "raw_log_content")
        for day in CONTENT_DAYS:
            assert reasons[day] == expected, (name, day)
            assert valid[day] + reasons[day].total() == LINES_PER_DAY, (name, day)
        assert set(expected) <= set(content_rules.QUARANTINE_REASONS)


def test_search_sample_is_dirty_as_the_generator_says(sample, search_runs):
    """Every row is valid or quarantined, each day has at least four quarantine reasons, the
    events the generator sends twice are found (those not quarantined for an earlier reason),
    and the months' users give every kind of taste: on both engines."""
    for f in sample.search_files:
        assert f.rows == SEARCHES_PER_DAY
    repeats = round(DUPLICATE_EVENT_SHARE * SEARCHES_PER_DAY)
    for f in sample.search_files:  # the generator's file: that many eventIDs come twice
        events = pq.read_table(f.path, columns=["eventID"])["eventID"]
        assert len(events) - len(pc.unique(events)) == repeats
    for name, run in search_runs.items():
        reasons = _reasons_by_day(run, "search_quarantine")
        valid = _rows_by_day(run, "raw_log_search")
        for day in SEARCH_DAYS:
            assert len(reasons[day]) >= 4, (name, day, reasons[day])
            assert 0 < reasons[day]["duplicate_event"] <= repeats, (name, day, reasons[day])
            assert valid[day] + reasons[day].total() == SEARCHES_PER_DAY, (name, day)
        tastes = set(run.read("customer_search_stats")["taste"].to_pylist())
        assert tastes == set(search_rules.TASTES), (name, tastes)
