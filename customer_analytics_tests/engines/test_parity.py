"""DuckDB and Spark give the same tables, row for row, on the sample data with all its dirt.

Once per module: the generator writes 4 content days of 50,000 lines and 2 search days in each
of June and July 2022; DuckDB and Spark in local mode run both chains end to end on them
(`chain.py`), writing every output to its own lake as production does. Spark on a real
standalone cluster on loopback (master and two workers) runs them too, as its driver and through
its Spark Connect server (`chain_driver.py`), on a smaller sample of the same dirt that DuckDB
runs as well: the cluster's runs prove the distributed path (several day files in one plan,
written by the executors), and what they cost is the start-up of their processes, not the rows.
Each test then compares one table of DuckDB's lake with Spark's, read back with Arrow and cast
to its schema, in file order. Two more tests check that the sample is dirty enough for the
comparison to mean something, and that the counts the generator promises hold on each engine.
"""

import ipaddress
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

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


class SampleSize(NamedTuple):
    """What a generated sample holds."""

    content_days: tuple[date, ...]
    lines_per_day: int
    search_days: tuple[date, ...]
    searches_per_day: int
    search_users: int


LOCAL = SampleSize(
    content_days=tuple(date(2022, 4, 1) + timedelta(days=i) for i in range(4)),
    lines_per_day=50_000,
    # Two consecutive months of the search export (sample_data.search.SEARCH_DAYS), two days each.
    search_days=(date(2022, 6, 1), date(2022, 6, 2), date(2022, 7, 1), date(2022, 7, 2)),
    searches_per_day=3_000,
    search_users=2_000,
)
# The cluster's sample: every kind of dirt still occurs at this size (dirt_counts).
CLUSTER = SampleSize(
    content_days=LOCAL.content_days[:3],
    lines_per_day=5_000,
    search_days=(date(2022, 6, 1), date(2022, 7, 1)),
    searches_per_day=500,
    search_users=500,
)

# keyword_category, for the chain drivers on the cluster.
CATEGORIES_FILE = "categories.parquet"
CHAINS = ("content", "search")
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
    size: SampleSize
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


def _sample(root: Path, size: SampleSize) -> Sample:
    raw = root / "raw"
    lines = size.lines_per_day
    contracts = Contracts.build(SEED, default_contracts(lines))
    content_files = tuple(
        generate_content_day(raw, day, contracts, lines=lines) for day in size.content_days
    )
    search_users = SearchUsers.build(SEED, size.search_users)
    search_files = tuple(
        generate_search_day(raw, day, search_users, rows=size.searches_per_day)
        for day in size.search_days
    )
    categories = _categories(search_files)
    pq.write_table(categories, root / CATEGORIES_FILE)
    return Sample(size, root, Location(str(raw)), content_files, search_files, categories)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return _sample(tmp_path_factory.mktemp("parity"), LOCAL)


@pytest.fixture(scope="module")
def cluster_sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return _sample(tmp_path_factory.mktemp("parity_cluster"), CLUSTER)


@pytest.fixture(scope="module")
def engines(spark):
    from customer_analytics.engines.spark import SparkEngine

    opened = {"duckdb": DuckDBEngine(), "spark": SparkEngine(spark)}
    yield opened
    for engine in opened.values():
        engine.close()


def _run_chain(chain: str, engine, sample: Sample, lake: Location) -> ChainRun:
    """One chain ("content" or "search") over the days of the sample."""
    if chain == "content":
        return run_content_chain(engine, sample.raw, lake, sample.size.content_days)
    return run_search_chain(engine, sample.raw, lake, sample.size.search_days, sample.categories)


def _on_each_engine(engines, sample: Sample, chain: str) -> dict[str, ChainRun]:
    runs = {}
    for name, engine in engines.items():
        try:
            runs[name] = _run_chain(
                chain, engine, sample, Location(str(sample.root / f"lake_{name}"))
            )
        except Exception as error:
            error.add_note(f"The {chain} chain fails on the {name} engine.")
            raise
    return runs


@pytest.fixture(scope="module")
def content_runs(engines, sample: Sample) -> dict[str, ChainRun]:
    return _on_each_engine(engines, sample, "content")


@pytest.fixture(scope="module")
def search_runs(engines, sample: Sample) -> dict[str, ChainRun]:
    return _on_each_engine(engines, sample, "search")


def _iso_days(days: tuple[date, ...]) -> str:
    return ",".join(day.isoformat() for day in days)


@dataclass(frozen=True)
class OnTheCluster:
    chains: dict[str, ChainRun]  # "content" and "search"
    session: dict  # what `spark_cluster_driver.py` found its session to be


def _on_the_cluster(cluster: Cluster, sample: Sample, session: str) -> OnTheCluster:
    """Both chains by `spark_cluster_driver.py`, a driver of the cluster's own or a Connect
    client."""
    address = (
        {"SPARK_MASTER_URL": cluster.master_url, "SPARK_DRIVER_MEMORY": "1g"}
        if session == "cluster"
        else {"SPARK_REMOTE": cluster.remote_url}
    )
    lake = sample.root / f"lake_spark_{session}"
    seen = run_client(
        "customer_analytics_tests.engines.spark_cluster_driver",
        environment_without_spark_addresses(
            COMPUTE_ENGINE="spark", DAGSTER_HOME=str(sample.root), **address
        ),
        *(str(sample.raw.uri), str(lake), str(sample.root / CATEGORIES_FILE)),
        *(_iso_days(sample.size.content_days), _iso_days(sample.size.search_days)),
    )
    chains = {chain: ChainRun(Location(str(lake)), files=seen[chain]) for chain in CHAINS}
    return OnTheCluster(chains, seen["session"])


@pytest.fixture(scope="module")
def cluster_runs(spark_cluster: Cluster, cluster_sample: Sample) -> dict[str, OnTheCluster]:
    """Both chains of the cluster's sample on the loopback cluster, once by a driver of its own
    and once through its Connect server, at once: the cluster has room for both applications."""
    with ThreadPoolExecutor(len(CLUSTER_SESSIONS)) as sessions:
        running = {
            session: sessions.submit(_on_the_cluster, spark_cluster, cluster_sample, session)
            for session in CLUSTER_SESSIONS
        }
        return {session: run.result() for session, run in running.items()}


@pytest.fixture(scope="module")
def duckdb_cluster_runs(cluster_sample: Sample) -> dict[str, ChainRun]:
    """Both chains of the cluster's sample on DuckDB, by chain."""
    engine = DuckDBEngine()
    lake = Location(str(cluster_sample.root / "lake_duckdb"))
    try:
        return {chain: _run_chain(chain, engine, cluster_sample, lake) for chain in CHAINS}
    finally:
        engine.close()


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
def test_the_tables_are_the_same_on_a_cluster(duckdb_cluster_runs, cluster_runs, session, table):
    """Spark on the loopback cluster, as a driver and as a Connect client, gives DuckDB's tables."""
    chain = "content" if table in CONTENT_TABLES else "search"
    assert_same_rows(
        table,
        {
            "duckdb": duckdb_cluster_runs[chain],
            f"spark {session}": cluster_runs[session].chains[chain],
        },
    )


def test_a_driver_of_a_master_on_loopback_listens_on_loopback_only(cluster_runs):
    """The project's own session (settings, then the engine resource of definitions.py) on a
    real standalone master at 127.0.0.1, in its own process: every socket that the driver's
    Python and JVM listen on, its RPC port and its block manager included, is on loopback, and
    a job still runs on the cluster's executors."""
    seen = cluster_runs["cluster"].session
    assert seen["total"] == 499_500  # 0 + 1 + ... + 999 = 999 * 1000 / 2, on the executor
    ports = {port for _, port in seen["listening"]}
    assert seen["driver_port"] in ports, seen
    # Of the block managers, the driver's is the one this process listens on.
    assert len([port for _, port in seen["block_managers"] if port in ports]) == 1, seen
    beyond_loopback = [
        (host, port)
        for host, port in seen["listening"]
        if not ipaddress.ip_address(host).is_loopback
    ]
    assert not beyond_loopback, seen
    assert seen["driver_host"] == "127.0.0.1"


def test_the_engine_runs_through_spark_connect_on_the_cluster(cluster_runs):
    """With SPARK_REMOTE, the project's session is a Spark Connect client of the server, whose
    jobs run on the cluster's executors; the client runs no driver of its own."""
    seen = cluster_runs["connect"].session
    assert seen["total"] == 499_500
    assert seen["connect"] is True
    assert seen["listening"] == [], seen  # a client: nothing of it listens


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
    for kind, count in dirt_counts(LOCAL.lines_per_day).items():
        if DIRT[kind].reason is not None:
            expected[DIRT[kind].reason] += count
    assert len(expected) >= 5, expected
    assert all(f.rows == LOCAL.lines_per_day for f in sample.content_files)
    assert sum(f.rows for f in sample.content_files) >= 200_000
    for name, run in content_runs.items():
        reasons = _reasons_by_day(run, "content_quarantine")
        valid = _rows_by_day(run, "raw_log_content")
        for day in LOCAL.content_days:
            assert reasons[day] == expected, (name, day)
            assert valid[day] + reasons[day].total() == LOCAL.lines_per_day, (name, day)
        assert set(expected) <= set(content_rules.QUARANTINE_REASONS)


def test_search_sample_is_dirty_as_the_generator_says(sample, search_runs):
    """Every row is valid or quarantined, each day has at least four quarantine reasons, the
    events the generator sends twice are found (those not quarantined for an earlier reason),
    and the months' users give every kind of taste: on both engines."""
    for f in sample.search_files:
        assert f.rows == LOCAL.searches_per_day
    repeats = round(DUPLICATE_EVENT_SHARE * LOCAL.searches_per_day)
    for f in sample.search_files:  # the generator's file: that many eventIDs come twice
        events = pq.read_table(f.path, columns=["eventID"])["eventID"]
        assert len(events) - len(pc.unique(events)) == repeats
    for name, run in search_runs.items():
        reasons = _reasons_by_day(run, "search_quarantine")
        valid = _rows_by_day(run, "raw_log_search")
        for day in LOCAL.search_days:
            assert len(reasons[day]) >= 4, (name, day, reasons[day])
            assert 0 < reasons[day]["duplicate_event"] <= repeats, (name, day, reasons[day])
            assert valid[day] + reasons[day].total() == LOCAL.searches_per_day, (name, day)
        tastes = set(run.read("customer_search_stats")["taste"].to_pylist())
        assert tastes == set(search_rules.TASTES), (name, tastes)
