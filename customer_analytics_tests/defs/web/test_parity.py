"""DuckDB and Spark give the same clickstream tables, row for row, on the sample stream with
all its dirt: the shipped server's events landed by the real poller, three hour folders
validated on both engines, and a day's sessions built from the same events on both."""

from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from customer_analytics.defs.web import transforms as web
from customer_analytics.defs.web.events_api import EventsApi, land_batches
from customer_analytics.defs.web.landing import read_web_hour
from customer_analytics.defs.web.rules import DEFAULT_WEIGHTS
from customer_analytics.defs.web.sample_data import event_stream
from customer_analytics.defs.web.sample_events_api import EventsServer
from customer_analytics.engines.duckdb import DuckDBEngine
from customer_analytics.engines.spark import SparkEngine
from customer_analytics.lib.landing import LandingZone

DAY = date(2022, 4, 1)
START = datetime(2022, 3, 31, 22)  # the day before's last hours, so no session is cut short
HOURS = 28
COMPARED_HOURS = (datetime(2022, 4, 1, 0), datetime(2022, 4, 1, 12), datetime(2022, 4, 1, 23))


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> LandingZone:
    zone = LandingZone(uri=str(tmp_path_factory.mktemp("landing")))
    with EventsServer(event_stream(42, START, HOURS), start=START).running() as server:
        land_batches(EventsApi(url=server.url), zone.location, log=lambda _: None)
    return zone


def _parsed(engine, landing: LandingZone, hour: datetime) -> dict[str, pa.Table]:
    with web.parse_web_hour(engine, read_web_hour(landing, hour), hour) as parsed:
        return {
            "valid": engine.fetch(parsed.valid),
            "quarantine": engine.fetch(parsed.quarantine),
            "extra_columns": engine.fetch(parsed.extra_columns),
        }


def test_hours_are_validated_alike_and_hold_every_kind_of_dirt(spark, landing):
    duckdb, spark_engine = DuckDBEngine(), SparkEngine(spark)
    reasons = set()
    for hour in COMPARED_HOURS:
        expected, found = _parsed(duckdb, landing, hour), _parsed(spark_engine, landing, hour)
        for name, table in expected.items():
            assert found[name].equals(table), f"{name} of {hour} differs"
        reasons |= set(expected["quarantine"]["reason"].to_pylist())
        assert expected["extra_columns"].num_rows > 0
    assert len(reasons) >= 4, reasons  # the comparison covers several rules, not one


def test_a_days_sessions_are_the_same_on_both_engines(spark, landing):
    duckdb = DuckDBEngine()
    hours = [START + timedelta(hours=h) for h in range(HOURS)]
    events = pa.concat_tables(_parsed(duckdb, landing, hour)["valid"] for hour in hours)
    sessions = web.web_sessions(events, DAY, DEFAULT_WEIGHTS)
    expected = duckdb.fetch(sessions)
    assert expected.num_rows > 400
    assert SparkEngine(spark).fetch(sessions).equals(expected)
