"""The sensors and automation conditions against a real Dagster instance."""

import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from customer_analytics.definitions import defs
from customer_analytics.defs.content.sensors import new_content_files
from customer_analytics.defs.web.sensors import new_web_hours
from customer_analytics_tests.conftest import content_line


def _tick(project, instance, cursor):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"landing": project.resources()["landing"]}
    ) as context:
        result = new_content_files(context)
    return result.run_requests, result.cursor


def test_the_first_tick_records_the_days_present_and_launches_nothing(project, instance):
    project.write_content_day(date(2022, 4, 1), [content_line("a", "C1", "KPLUS", 1)])
    project.write_content_day(date(2022, 4, 2), [content_line("b", "C1", "KPLUS", 1)])
    requests, cursor = _tick(project, instance, None)
    assert requests == []
    assert sorted(json.loads(cursor)) == ["2022-04-01", "2022-04-02"]

    requests, _ = _tick(project, instance, cursor)
    assert requests == []


def test_a_new_day_file_is_requested_once_for_the_daily_job(project, instance):
    _, cursor = _tick(project, instance, None)
    project.write_content_day(date(2022, 4, 1), [content_line("a", "C1", "KPLUS", 1)])
    requests, cursor = _tick(project, instance, cursor)
    assert [r.partition_key for r in requests] == ["2022-04-01"]
    assert new_content_files.job_name == "content_daily_job"

    project.write_content_day(date(2022, 4, 2), [content_line("b", "C1", "KPLUS", 1)])
    requests, cursor = _tick(project, instance, cursor)
    assert [r.partition_key for r in requests] == ["2022-04-02"]

    requests, cursor = _tick(project, instance, cursor)
    assert requests == []


def test_a_rewritten_day_file_is_requested_again(project, instance):
    project.write_content_day(date(2022, 4, 1), [content_line("a", "C1", "KPLUS", 1)])
    _, cursor = _tick(project, instance, None)
    project.write_content_day(
        date(2022, 4, 1), [content_line("a", "C1", "KPLUS", 1), content_line("b", "C2", "VOD", 2)]
    )
    requests, _ = _tick(project, instance, cursor)
    assert [r.partition_key for r in requests] == ["2022-04-01"]


def test_files_outside_the_partitions_are_ignored(project, instance):
    _, cursor = _tick(project, instance, None)
    project.write_content_day(date(2021, 12, 31), [content_line("a", "C1", "KPLUS", 1)])
    requests, _ = _tick(project, instance, cursor)
    assert requests == []


def _requested(result, asset: str) -> list[str]:
    return sorted(result.get_requested_partitions(dg.AssetKey(asset)))


def test_a_month_is_requested_once_all_its_days_are_materialized(instance):
    definitions = defs()
    selection = dg.AssetSelection.assets("customer_content_stats")
    may_2nd = datetime(2022, 5, 2, 3, tzinfo=UTC)
    april = [date(2022, 4, 1) + timedelta(days=n) for n in range(30)]

    for day in april[:-1]:
        instance.report_runless_asset_event(
            dg.AssetMaterialization("daily_pivot", partition=day.isoformat())
        )
    result = dg.evaluate_automation_conditions(
        defs=definitions, instance=instance, asset_selection=selection, evaluation_time=may_2nd
    )
    assert result.total_requested == 0

    instance.report_runless_asset_event(
        dg.AssetMaterialization("daily_pivot", partition=april[-1].isoformat())
    )
    result = dg.evaluate_automation_conditions(
        defs=definitions,
        instance=instance,
        asset_selection=selection,
        evaluation_time=may_2nd + timedelta(minutes=1),
        cursor=result.cursor,
    )
    assert _requested(result, "customer_content_stats") == ["2022-04-01"]

    again = dg.evaluate_automation_conditions(
        defs=definitions,
        instance=instance,
        asset_selection=selection,
        evaluation_time=may_2nd + timedelta(minutes=2),
        cursor=result.cursor,
    )
    assert again.total_requested == 0


def _land_batch(project, hour: datetime, batch: int) -> None:
    body = {"batch": batch, "cursor": str(batch), "sent_at": 0, "positions": [], "events": []}
    relative = f"web_events/{hour:%Y/%m/%d/%H}/batch-{batch:08d}.json"
    project.raw.write(relative, lambda sink: sink.write(json.dumps(body).encode()))


def test_a_late_batch_requests_its_hour_again(project, instance):
    """A batch landing in an hour already seen (late events) runs that hour again, only it."""
    landing = {"landing": project.resources()["landing"]}
    thirteen, fourteen = datetime(2022, 4, 1, 13), datetime(2022, 4, 1, 14)
    _land_batch(project, thirteen, 0)

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=landing) as ctx:
            result = new_web_hours(ctx)
        return [r.partition_key for r in result.run_requests], result.cursor

    requested, cursor = tick(None)
    assert requested == []
    _land_batch(project, fourteen, 1)
    requested, cursor = tick(cursor)
    assert requested == ["2022-04-01-14:00"]
    _land_batch(project, thirteen, 2)  # late events of 13:00, delivered with batch 2
    requested, cursor = tick(cursor)
    assert requested == ["2022-04-01-13:00"]
    assert new_web_hours.job_name == "web_hourly_job"
