"""Hostile events through the web group (issue 21): none of them stops an hour, a day or a
month. A batch served again, text that is not valid Unicode and an event before the first
hourly partition, on local files + DuckDB; a user_id longer than the warehouse's customer_id
column through the whole chain, on DuckDB and on MariaDB.

Batches are written as the poller writes them (`defs/web/events_api.py`): JSON with every character
beyond ASCII escaped, so that a lone surrogate (\\ud800) survives the file. Expected values are
worked out by hand: 1648818000 is 2022-04-01 13:00:00 UTC.
"""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from customer_analytics.defs.web.assets import (
    crm_customers,
    customer_loyalty,
    raw_web_events,
    web_sessions,
)
from customer_analytics.defs.web.schemas import CUSTOMER_LOYALTY
from customer_analytics.io_managers.mysql_warehouse import column_types
from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics.rules.identifiers import MAX_USER_ID_LENGTH
from customer_analytics_tests.conftest import range_tags

DAY = datetime(2022, 4, 1)
CRM = "customer_id,contract,loyalty_tier,rating\nu3,C3,Silver,3\n"
LONG_ID = "u" * 300
# As wide as the column, 255 characters (1,020 bytes in UTF-8): it loads into MySQL.
WIDE_ID = "😀" * 255

embedded_only = pytest.mark.parametrize("project", ["embedded"], indirect=True)


def _epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def _event(session: str, user: str, at: datetime, kind: str = "view") -> dict:
    return {
        "session_id": session,
        "user_id": user,
        "event_type": kind,
        "page": "/home",
        "device": "mobile",
        "browser": "chrome",
        "timestamp": _epoch(at),
    }


def _land(project, batch: int, hour: datetime, events: list) -> None:
    """One batch's file in an hour folder, sent at the hour's last second."""
    body = {
        "batch": batch,
        "cursor": str(batch),
        "sent_at": _epoch(hour) + 3599,
        "positions": list(range(len(events))),
        "events": events,
    }
    data = json.dumps(body).encode("ascii")  # ensure_ascii, as the poller's fallback
    relative = f"web_events/{hour:%Y/%m/%d/%H}/batch-{batch:08d}.json"
    project.raw.write(relative, lambda sink: sink.write(data))


def _hour(project, instance, hour: datetime, must_pass: bool = True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [raw_web_events],
        partition_key=f"{hour:%Y-%m-%d-%H}:00",
        resources=project.resources(),
        instance=instance,
        raise_on_error=must_pass,
    )


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {check.check_name: check for check in result.get_asset_check_evaluations()}


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (event,) = [
        materialization
        for materialization in result.asset_materializations_for_node("raw_web_events")
        if materialization.asset_key == dg.AssetKey(asset)
    ]
    return {name: getattr(value, "value", value) for name, value in event.metadata.items()}


def _stored(project, asset: str, hour: datetime) -> list[dict]:
    folder = f"year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}"
    return project.lake.read_parquet(f"{asset}/{folder}/part-0.parquet").to_pylist()


@embedded_only
def test_a_batch_served_again_does_not_block_its_hour(project, instance):
    """An API whose cursor went back serves the hour's 100 events again. Counted as
    rejections, they were half the hour (over the 25 % limit): nothing was stored."""
    hour = DAY + timedelta(hours=13)
    events = [_event(f"s{n}", "u3", hour + timedelta(seconds=n)) for n in range(100)]
    _land(project, 1, hour, events)
    _land(project, 2, hour, events)
    result = _hour(project, instance, hour)
    assert result.success
    assert len(_stored(project, "raw_web_events", hour)) == 100
    quarantine = _stored(project, "web_quarantine", hour)
    assert {(row["batch"], row["reason"]) for row in quarantine} == {(2, "redelivered")}
    assert sorted(row["position"] for row in quarantine) == list(range(100))
    checks = _checks(result)
    assert checks["rejected_share"].passed and checks["quarantine_share"].passed
    assert checks["rejected_share"].metadata["rejected_share"].value == 0.0
    assert checks["rejected_share"].metadata["rows"].value == 100
    raw = _metadata(result, "raw_web_events")
    assert (raw["input_events"], raw["quarantined"], raw["quarantined/redelivered"]) == (
        200,
        100,
        100,
    )
    by_reason = _metadata(result, "web_quarantine")["by_reason"]
    assert by_reason["redelivered"] == 100
    assert sum(by_reason.values()) == 100


@embedded_only
def test_a_batch_served_again_with_changed_events_still_counts_them(project, instance):
    """The same keys in other records are duplicates, rejections: 4 of 8 events."""
    hour = DAY + timedelta(hours=13)
    events = [_event(f"s{n}", "u3", hour + timedelta(seconds=n)) for n in range(4)]
    _land(project, 1, hour, events)
    _land(
        project, 2, hour, [{**event, "session_id": f" {event['session_id']}"} for event in events]
    )
    result = _hour(project, instance, hour, must_pass=False)
    assert not result.success
    assert not _checks(result)["rejected_share"].passed
    assert _checks(result)["rejected_share"].metadata["rejected_share"].value == 0.5


@embedded_only
def test_text_that_is_not_unicode_is_quarantined_and_the_hour_stored(project, instance):
    hour = DAY + timedelta(hours=13)
    bad = {**_event("bad", "u\ud800", hour), "x\udc00": 1}
    events = [_event(f"s{n}", "u3", hour + timedelta(minutes=n)) for n in range(4)]
    _land(project, 1, hour, [*events[:2], bad, *events[2:]])
    result = _hour(project, instance, hour)
    assert result.success
    assert len(_stored(project, "raw_web_events", hour)) == 4
    (quarantined,) = _stored(project, "web_quarantine", hour)
    assert (quarantined["position"], quarantined["reason"]) == (2, "invalid_unicode")
    assert quarantined["record"] == (
        '{"browser": "chrome", "device": "mobile", "event_type": "view", "page": "/home", '
        '"session_id": "bad", "timestamp": 1648818000, "user_id": "u\\ud800", "x\\udc00": 1}'
    )
    assert json.loads(quarantined["record"]) == bad
    (extra,) = _stored(project, "web_extra_columns", hour)
    assert (extra["session_id"], extra["extra_fields"]) == ("bad", "x\\udc00")
    assert _metadata(result, "web_quarantine")["by_reason"]["invalid_unicode"] == 1


@embedded_only
def test_an_event_before_the_first_partition_is_counted(project, instance):
    """Sent before 2022-04-01, the poller lands it in the first hour's folder."""
    hour = DAY
    events = [_event(f"s{n}", "u3", hour + timedelta(minutes=n)) for n in range(4)]
    _land(project, 1, hour, [_event("old", "u3", datetime(2021, 6, 1)), *events])
    result = _hour(project, instance, hour)
    assert result.success
    (quarantined,) = _stored(project, "web_quarantine", hour)
    assert (quarantined["position"], quarantined["reason"]) == (0, "before_first_partition")
    assert _metadata(result, "web_quarantine")["by_reason"]["before_first_partition"] == 1
    assert _metadata(result, "raw_web_events")["quarantined/before_first_partition"] == 1
    timestamps = _checks(result)["timestamp_sanity"]
    assert timestamps.passed  # 1 of 5 events, under the 25 % limit
    assert timestamps.metadata["by_reason"].value["before_first_partition"] == 1
    assert timestamps.metadata["share"].value == 0.2


def test_the_rule_and_the_warehouse_column_have_one_width():
    assert MAX_USER_ID_LENGTH == 255
    assert column_types(CUSTOMER_LOYALTY)["customer_id"] == f"VARCHAR({MAX_USER_ID_LENGTH})"


def _land_a_day_with_a_long_user_id(project) -> None:
    """Each hour a view of u3 at HH:30 (session f<HH>); at 12:00 and 12:01 a view and a click
    of WIDE_ID, at 12:02 a view of LONG_ID (quarantined), at 12:40 a view of u3 (g12)."""
    for offset in range(24):
        hour = DAY + timedelta(hours=offset)
        events = [_event(f"f{offset:02d}", "u3", hour + timedelta(minutes=30))]
        if offset == 12:
            events += [
                _event("wide", WIDE_ID, hour),
                _event("wide", WIDE_ID, hour + timedelta(minutes=1), kind="click"),
                _event("long", LONG_ID, hour + timedelta(minutes=2)),
                _event("g12", "u3", hour + timedelta(minutes=40)),
            ]
        _land(project, offset, hour, events)
    project.raw.write("crm/crm_customers.csv", lambda sink: sink.write(CRM.encode()))


def test_a_user_id_longer_than_the_warehouse_column_is_quarantined(project, instance):
    """It used to flow into the sessions and fail the month on MySQL (`Data truncated for
    column 'customer_id'`); now the month loads on both warehouses without it."""
    _land_a_day_with_a_long_user_id(project)
    resources = project.resources()
    hours = dg.materialize(
        [raw_web_events],
        resources=resources,
        instance=instance,
        tags=range_tags("2022-04-01-00:00", "2022-04-01-23:00"),
    )
    assert hours.success
    noon = DAY + timedelta(hours=12)
    (quarantined,) = _stored(project, "web_quarantine", noon)
    assert (quarantined["position"], quarantined["reason"]) == (3, "user_id_too_long")
    assert json.loads(quarantined["record"])["user_id"] == LONG_ID
    assert dg.materialize(
        [raw_web_events, web_sessions],
        selection=[web_sessions],
        partition_key="2022-04-01",
        resources=resources,
        instance=instance,
    ).success
    assert dg.materialize([crm_customers], resources=resources, instance=instance).success
    assert dg.materialize(
        [raw_web_events, web_sessions, crm_customers, customer_loyalty],
        selection=[customer_loyalty],
        partition_key="2022-04-01",
        resources=resources,
        instance=instance,
    ).success
    rows = connect_warehouse(project.settings.warehouse_url).read("customer_loyalty", None)
    loyalty = {row["customer_id"]: row for row in rows.to_pylist()}
    assert set(loyalty) == {"u3", WIDE_ID}
    wide = loyalty[WIDE_ID]
    assert (wide["sessions"], wide["events"], wide["loyalty_interactions"]) == (1, 2, 1)
    assert wide["loyalty_rate_pct"] == 50.0 and wide["contract"] is None
    assert (loyalty["u3"]["sessions"], loyalty["u3"]["events"]) == (25, 25)
