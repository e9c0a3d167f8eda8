"""The clickstream in the landing zone and the lake: hour folders of batch files, the CRM
extract, and the Hive layout of hourly partitions that DuckDB and Spark prune on.

The batch files are written by hand in the layout the poller writes; 1648818000 is
2022-04-01 13:00:00 UTC.
"""

import json
import re
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_analytics.defs.web.landing import hours_arrived, read_crm, read_web_hour
from customer_analytics.defs.web.rules import event_fields
from customer_analytics.defs.web.schemas import CRM_CUSTOMERS, WEB_EVENT_FIELDS
from customer_analytics.lib.lake import Lake
from customer_analytics.lib.landing import LandingZone

# Spark checks the installed pandas when it starts.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

HOUR = datetime(2022, 4, 1, 13)
T = 1648818000
FOLDER = "web_events/2022/04/01/13"


def _event(session: str, seconds: int, **extra: object) -> dict:
    return {
        "session_id": session,
        "user_id": "u1",
        "event_type": "view",
        "page": "/home",
        "timestamp": seconds,
        **extra,
    }


def _write_batch(root: Path, folder: str, batch: int, events: list, positions=None, sent=None):
    path = root / folder / f"batch-{batch:08d}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "batch": batch,
        "cursor": f"cursor-{batch}",
        "sent_at": T + 600 if sent is None else sent,
        "positions": list(range(len(events))) if positions is None else positions,
        "events": events,
    }
    path.write_text(json.dumps(document))
    return path


# --- read_web_hour ----------------------------------------------------------------------


def test_read_web_hour_in_batch_then_position_order(tmp_path: Path):
    second = [_event("b", T + 120), ["not an object"]]
    first = [_event("a", T + 60, extra=1), _event("a", (T + 30) * 1000)]
    _write_batch(tmp_path, FOLDER, 2, second, positions=[0, 3], sent=T + 900)
    _write_batch(tmp_path, FOLDER, 1, first)
    # Not a batch: left alone.
    (tmp_path / FOLDER / "notes.txt").write_text("not json")
    _write_batch(tmp_path, "web_events/2022/04/01/14", 3, [_event("c", T + 3700)])

    table = read_web_hour(LandingZone(uri=str(tmp_path)), HOUR)
    assert table.schema == WEB_EVENT_FIELDS
    assert table.column_names == WEB_EVENT_FIELDS.names
    assert [(row["batch"], row["position"], row["sent_epoch"]) for row in table.to_pylist()] == [
        (1, 0, float(T + 600)),
        (1, 1, float(T + 600)),
        (2, 0, float(T + 900)),
        (2, 3, float(T + 900)),
    ]
    rows = table.to_pylist()
    assert rows[0] == {
        "batch": 1,
        "position": 0,
        "sent_epoch": float(T + 600),
        **event_fields(first[0]),
    }
    assert (rows[0]["extra_fields"], rows[1]["timestamp_unit"], rows[1]["event_epoch"]) == (
        "extra",
        "milliseconds",
        T + 30.0,
    )
    assert (rows[3]["is_object"], rows[3]["session_id"], rows[3]["record"]) == (
        False,
        None,
        '["not an object"]',
    )


def test_an_hour_without_batches_is_empty(tmp_path: Path):
    table = read_web_hour(LandingZone(uri=str(tmp_path)), HOUR)
    assert table.num_rows == 0
    assert table.schema == WEB_EVENT_FIELDS


def _broken(tmp_path: Path, text: str) -> Path:
    _write_batch(tmp_path, FOLDER, 1, [_event("a", T + 60)])
    path = tmp_path / FOLDER / "batch-00000002.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param("", id="empty"),
        pytest.param(json.dumps({"batch": 2, "sent_at": T, "events": []}), id="no-positions"),
        pytest.param(
            json.dumps({"batch": "two", "sent_at": T, "positions": [], "events": []}),
            id="batch-not-a-number",
        ),
        pytest.param(json.dumps([1, 2]), id="not-an-object"),
    ],
)
def test_a_broken_batch_fails_naming_its_file(tmp_path: Path, text: str):
    path = _broken(tmp_path, text)
    with pytest.raises(dg.Failure, match=re.escape(str(path))):
        read_web_hour(LandingZone(uri=str(tmp_path)), HOUR)


@pytest.mark.parametrize(
    ("positions", "events"),
    [
        pytest.param([0, 1], [_event("x", T + 60)], id="more-positions"),
        pytest.param([0], [_event("x", T + 60), _event("y", T + 61)], id="more-events"),
    ],
)
def test_positions_and_events_of_different_lengths_fail_naming_the_file(
    tmp_path: Path, positions, events
):
    batch = {"batch": 2, "cursor": "c", "sent_at": T, "positions": positions, "events": events}
    path = _broken(tmp_path, json.dumps(batch))
    with pytest.raises(dg.Failure, match=re.escape(str(path))):
        read_web_hour(LandingZone(uri=str(tmp_path)), HOUR)


# --- web_hours_arrived ------------------------------------------------------------------


def test_web_hours_arrived(tmp_path: Path):
    landing = LandingZone(uri=str(tmp_path))
    assert hours_arrived(landing) == {}
    _write_batch(tmp_path, FOLDER, 1, [_event("a", T + 60)])
    _write_batch(tmp_path, "web_events/2022/04/02/00", 2, [_event("a", T + 39600)])
    (tmp_path / FOLDER / "notes.txt").write_text("x")
    (tmp_path / "web_events/2022/04/01/notes.json").write_text("{}")
    before = hours_arrived(landing)
    assert sorted(before) == ["2022-04-01-13:00", "2022-04-02-00:00"]

    # A late batch lands in the hour: its version changes, the other hour's does not.
    _write_batch(tmp_path, FOLDER, 3, [_event("b", T + 61)])
    after = hours_arrived(landing)
    assert sorted(after) == sorted(before)
    assert after["2022-04-01-13:00"] != before["2022-04-01-13:00"]
    assert after["2022-04-02-00:00"] == before["2022-04-02-00:00"]


# --- read_crm ---------------------------------------------------------------------------


def test_read_crm_as_text(tmp_path: Path):
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "crm_customers.csv").write_text(
        "customer_id,contract,loyalty_tier,rating,note\n"
        "007, HNH579912 ,Gold,04,vip\n"
        "u2,,Silver,x,\n"
    )
    crm = read_crm(LandingZone(uri=str(tmp_path)))
    assert crm.schema == pa.schema(
        [(name, pa.string()) for name in CRM_CUSTOMERS.names] + [("line", pa.int64())]
    )
    assert crm.to_pylist() == [
        {
            "customer_id": "007",
            "contract": " HNH579912 ",
            "loyalty_tier": "Gold",
            "rating": "04",
            "line": 2,
        },
        {"customer_id": "u2", "contract": "", "loyalty_tier": "Silver", "rating": "x", "line": 3},
    ]


def test_read_crm_missing_or_without_its_columns(tmp_path: Path):
    landing = LandingZone(uri=str(tmp_path))
    with pytest.raises(
        dg.Failure, match=re.escape(f"No CRM extract at {tmp_path}/crm/crm_customers.csv")
    ):
        read_crm(landing)
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "crm_customers.csv").write_text("customer_id,contract\nu1,c\n")
    with pytest.raises(
        dg.Failure, match=re.escape("crm_customers.csv lacks the column(s) loyalty_tier, rating")
    ):
        read_crm(landing)


# --- the lake's hourly layout and pruning -----------------------------------------------


def test_partition_file():
    assert Lake.partition_file("raw_web_events", "2022-04-01-13:00") == (
        "raw_web_events/year=2022/month=04/day=01/hour=13/part-0.parquet"
    )
    assert Lake.partition_file("raw_web_events", "2022-12-31-00:00") == (
        "raw_web_events/year=2022/month=12/day=31/hour=00/part-0.parquet"
    )
    assert Lake.partition_file("web_sessions", "2022-04-01") == "web_sessions/2022-04-01.parquet"
    assert Lake.partition_file("customer_loyalty", "2022-04") == "customer_loyalty/2022-04.parquet"
    assert Lake.partition_file("crm_customers", None) == "crm_customers.parquet"
    # Not an hourly key: a minute that is not :00 keeps the daily layout.
    assert Lake.partition_file("x", "2022-04-01-13:30") == "x/2022-04-01-13:30.parquet"


PRUNED_SCHEMA = pa.schema([("session_id", pa.string()), ("event_epoch", pa.float64())])


@pytest.fixture
def hourly_lake(tmp_path: Path) -> Path:
    """Hours 12 and 13 written by the lake's layout (2 and 3 rows); hour 14 is garbage."""
    for key, rows in (("2022-04-01-12:00", 2), ("2022-04-01-13:00", 3)):
        path = tmp_path / Lake.partition_file("raw_web_events", key)
        path.parent.mkdir(parents=True)
        table = pa.table(
            {"session_id": [f"s{i}" for i in range(rows)], "event_epoch": [float(T)] * rows},
            schema=PRUNED_SCHEMA,
        )
        pq.write_table(table, path)
    garbage = tmp_path / Lake.partition_file("raw_web_events", "2022-04-01-14:00")
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"this is not parquet" * 10)
    return tmp_path / "raw_web_events"


def test_duckdb_prunes_hourly_partitions(hourly_lake: Path):
    pattern = f"read_parquet('{hourly_lake}/**/*.parquet', hive_partitioning = true)"
    connection = duckdb.connect()
    try:
        count = connection.sql(f"SELECT count(*) FROM {pattern} WHERE hour = 13").fetchone()
        assert count == (3,)
        with pytest.raises(duckdb.Error):
            connection.sql(f"SELECT count(*) FROM {pattern}").fetchone()
    finally:
        connection.close()


def test_spark_prunes_hourly_partitions(spark, hourly_lake: Path):
    from pyspark.sql.types import DoubleType, IntegerType, StringType, StructField, StructType

    schema = StructType(
        [
            StructField("session_id", StringType()),
            StructField("event_epoch", DoubleType()),
            StructField("year", IntegerType()),
            StructField("month", IntegerType()),
            StructField("day", IntegerType()),
            StructField("hour", IntegerType()),
        ]
    )
    frame = spark.read.schema(schema).parquet(str(hourly_lake))
    assert frame.where("hour = 13").count() == 3
    assert frame.where("hour = 12").select("session_id").collect()[1][0] == "s1"
    with pytest.raises(Exception, match=r"(?i)parquet"):
        frame.count()
