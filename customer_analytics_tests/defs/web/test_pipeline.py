"""The clickstream through Dagster, on local files + DuckDB and on S3 + MariaDB: two days of
landed batches in, the hourly lake, the sessions of a day and the loyalty of the month out.

The two days, worked out by hand (2022-04-01 and 02, UTC):
- every hour of both days has a filler session `f<day><hour>` of u3: one view at HH:30;
- `busy` (u3): eight views of /home at 23:00..23:07 on the 1st;
- `night` (u1): a view of /home at 23:50 (with a `referrer` field), a click on /watch/1 at 23:55
  (sent in milliseconds, and delivered again in a later batch: a redelivery), a like of
  /watch/1 at 00:10 on the 2nd: one session of the 1st, 1,200 s, 3 events, 2 pages, 2
  interactions, score 1 + 2 + 3 = 6;
- an event of hour 23 without a page: quarantined;
- `anon`: a view and a scroll at 12:00 and 12:01 on the 1st without user_id: anonymous, score 2;
- `u7` (not in the CRM): a comment at 08:00 on the 2nd, score 4.
Hour 23 of the 1st holds 1 + 8 + 2 + 1 = 12 events and the redelivery, which is no rejection:
1 rejected (8 %, under the 25 % limit).
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
from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics_tests.conftest import range_tags

FIRST = datetime(2022, 4, 1)
CRM = "customer_id,contract,loyalty_tier,rating\nu1,C1,Gold,5\nu3,C3,Silver,3\n"


def _epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def _event(session: str, user: str | None, kind: str, page: str, at: datetime, **more) -> dict:
    event = {"session_id": session, "event_type": kind, "page": page, "timestamp": _epoch(at)}
    if user:
        event["user_id"] = user
    return {**event, "device": "mobile", "browser": "chrome", **more}


def _land(project, batch: int, hour: datetime, events: list[dict]) -> None:
    """One batch's file in an hour folder, as the poller writes it."""
    sent = _epoch(hour) + 3599
    body = {
        "batch": batch,
        "cursor": str(batch),
        "sent_at": sent,
        "positions": list(range(len(events))),
        "events": events,
    }
    relative = f"web_events/{hour:%Y/%m/%d/%H}/batch-{batch:08d}.json"
    project.raw.write(relative, lambda sink: sink.write(json.dumps(body).encode()))


def _land_two_days(project) -> None:
    last_hour = FIRST + timedelta(hours=23)
    for offset in range(48):
        hour = FIRST + timedelta(hours=offset)
        events = [_event(f"f{hour:%d%H}", "u3", "view", "/home", hour + timedelta(minutes=30))]
        if hour == FIRST + timedelta(hours=12):
            events += [
                _event("anon", None, "view", "/home", hour),
                _event("anon", None, "scroll", "/home", hour + timedelta(minutes=1)),
            ]
        if hour == last_hour:
            events += [
                _event("busy", "u3", "view", "/home", hour + timedelta(minutes=m)) for m in range(8)
            ]
            click = _event("night", "u1", "click", "/watch/1", hour + timedelta(minutes=55))
            click["timestamp"] *= 1000
            events += [
                _event("night", "u1", "view", "/home", hour + timedelta(minutes=50), referrer="g"),
                click,
                {"session_id": "nopage", "event_type": "view", "timestamp": _epoch(hour)},
            ]
            _land(project, 100, hour, [click])  # delivered again in a later batch
        if hour == FIRST + timedelta(days=1):
            events.append(_event("night", "u1", "like", "/watch/1", hour + timedelta(minutes=10)))
        if hour == FIRST + timedelta(days=1, hours=8):
            events.append(_event("u7s", "u7", "comment", "/watch/2", hour))
        _land(project, offset, hour, events)
    project.raw.write("crm/crm_customers.csv", lambda sink: sink.write(CRM.encode()))


def _materialize(project, instance) -> dict[str, dg.ExecuteInProcessResult]:
    _land_two_days(project)
    resources = project.resources()
    hours = dg.materialize(
        [raw_web_events],
        resources=resources,
        instance=instance,
        tags=range_tags("2022-04-01-00:00", "2022-04-02-23:00"),
    )
    assert hours.success
    for day in ("2022-04-01", "2022-04-02"):
        assert dg.materialize(
            [raw_web_events, web_sessions],
            selection=[web_sessions],
            partition_key=day,
            resources=resources,
            instance=instance,
        ).success
    assert dg.materialize([crm_customers], resources=resources, instance=instance).success
    month = dg.materialize(
        [raw_web_events, web_sessions, crm_customers, customer_loyalty],
        selection=[customer_loyalty],
        partition_key="2022-04-01",
        resources=resources,
        instance=instance,
    )
    assert month.success
    return {"hours": hours, "month": month}


def _sessions(project, day: str) -> dict[str, dict]:
    rows = project.lake.read_parquet(f"web_sessions/{day}.parquet").to_pylist()
    return {row["session_id"]: row for row in rows}


def test_two_days_of_batches_through_the_web_group(project, instance):
    """One materialization of the group, then what each asset holds (the three below)."""
    materialized = _materialize(project, instance)
    _hour_folders_become_a_hive_lake_with_quarantine_and_extra_columns(project, materialized)
    _a_session_across_midnight_belongs_to_the_day_it_started(project)
    _loyalty_of_the_month_joins_the_crm(project, materialized)


def _hour_folders_become_a_hive_lake_with_quarantine_and_extra_columns(project, materialized):
    hour = "raw_web_events/year=2022/month=04/day=01/hour=23/part-0.parquet"
    events = project.lake.read_parquet(hour).to_pylist()
    assert len(events) == 11
    assert [e["session_id"] for e in events][-2:] == ["night", "night"]  # in time order
    quarantine = project.lake.read_parquet(hour.replace("raw_web_events", "web_quarantine"))
    assert sorted(quarantine["reason"].to_pylist()) == ["missing_page", "redelivered"]
    extra = project.lake.read_parquet(hour.replace("raw_web_events", "web_extra_columns"))
    assert extra["extra_fields"].to_pylist() == ["referrer"]
    noon = project.lake.read_parquet(hour.replace("hour=23", "hour=12")).to_pylist()
    anonymous = {e["user_id"] for e in noon if e["is_anonymous"]}
    assert len(anonymous) == 1 and next(iter(anonymous)).startswith("anonymous-")
    checks = {
        evaluation.check_name: evaluation.passed
        for evaluation in materialized["hours"].get_asset_check_evaluations()
    }
    assert checks["required_fields"] and checks["timestamp_sanity"]
    assert checks["rejected_share"] and checks["late_event_share"]


def _a_session_across_midnight_belongs_to_the_day_it_started(project):
    first, second = _sessions(project, "2022-04-01"), _sessions(project, "2022-04-02")
    assert len(first) == 24 + 3 and len(second) == 24 + 1
    night = first["night"]
    assert "night" not in second
    assert (night["duration_seconds"], night["events"], night["unique_pages"]) == (1200, 3, 2)
    assert (night["first_event"], night["last_event"]) == ("view", "like")
    assert (night["interactions"], night["engagement_score"]) == (2, 6.0)
    assert first["busy"]["events"] == 8 and first["busy"]["engagement_score"] == 8.0
    assert first["anon"]["is_anonymous"] and first["anon"]["engagement_score"] == 2.0


def _loyalty_of_the_month_joins_the_crm(project, materialized):
    rows = connect_warehouse(project.settings.warehouse_url).read("customer_loyalty", None)
    loyalty = {row["customer_id"]: row for row in rows.to_pylist()}
    assert set(loyalty) == {"u1", "u3", "u7"}
    u1, u3, u7 = loyalty["u1"], loyalty["u3"], loyalty["u7"]
    assert (u1["contract"], u1["loyalty_tier"], u1["rating"]) == ("C1", "Gold", 5)
    assert (u1["sessions"], u1["events"], u1["engagement_score"]) == (1, 3, 6.0)
    assert u1["loyalty_interactions"] == 2
    assert u1["loyalty_rate_pct"] == pytest.approx(200 / 3)
    assert (u3["sessions"], u3["events"], u3["engagement_score"]) == (49, 56, 56.0)
    assert (u3["loyalty_interactions"], u3["loyalty_rate_pct"]) == (0, 0.0)
    assert (u7["loyalty_tier"], u7["contract"], u7["loyalty_rate_pct"]) == (None, None, 100.0)
    (event,) = materialized["month"].asset_materializations_for_node("customer_loyalty")
    assert event.metadata["anonymous_sessions_left_out"].value == 1
    assert event.metadata["days_with_sessions"].value == 2
    checks = {
        evaluation.check_name: evaluation.passed
        for evaluation in materialized["month"].get_asset_check_evaluations()
    }
    assert checks["crm_join_accounted"] and checks["loyalty_rate_in_range"]
    assert not checks["crm_coverage"]  # u7 is one customer in three
