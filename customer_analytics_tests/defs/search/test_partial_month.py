"""`monthly_top_keyword` needs every day of the search export window (SEARCH_EXPORT_DAYS):
a day that failed inside the window fails the month, days outside it do not count."""

from datetime import date, timedelta

import dagster as dg
import pytest

from customer_analytics.defs.search.assets import monthly_top_keyword, raw_log_search
from customer_analytics.settings import ConfigurationError, Settings

JUNE = date(2022, 6, 1)
ASSETS = [raw_log_search, monthly_top_keyword]


@pytest.fixture(autouse=True)
def export_window_of_day_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window is this module's subject: the default one, not the conftest's day 1."""
    monkeypatch.delenv("SEARCH_EXPORT_DAYS", raising=False)


def _write_days(project, days: range) -> None:
    for day in days:
        project.write_search_day(
            JUNE + timedelta(days=day - 1),
            [
                {"eventID": f"{day}-{n}", "user_id": f"{n:07d}", "keyword": f"phim {day}"}
                for n in range(1, 6)
            ],
        )


def _materialize_days(project, instance, first: int, last: int) -> None:
    result = dg.materialize(
        ASSETS,
        selection=[raw_log_search],
        resources=project.resources(),
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": str(JUNE.replace(day=first)),
            "dagster/asset_partition_range_end": str(JUNE.replace(day=last)),
        },
    )
    assert result.success


def _month(project, instance):
    return dg.materialize(
        ASSETS,
        selection=[monthly_top_keyword],
        resources=project.resources(),
        instance=instance,
        partition_key=str(JUNE),
        raise_on_error=False,
    )


def test_a_missing_day_inside_the_window_fails_the_month_naming_it(project, instance):
    assert project.settings.search_export_days == tuple(range(1, 15))  # the default, 1-14
    _write_days(project, range(1, 15))
    _materialize_days(project, instance, 1, 13)

    failed = _month(project, instance)

    assert not failed.success
    (failure,) = [event for event in failed.all_events if event.is_step_failure]
    message = str(failure.step_failure_data.error)
    assert "not materialized for 1 day(s) of the search export window of 2022-06" in message
    assert "SEARCH_EXPORT_DAYS" in message and "2022-06-14" in message
    assert "2022-06-15" not in message  # outside the window: not missing
    assert not [event for event in failed.all_events if event.is_step_up_for_retry]
    assert not project.lake.exists("monthly_top_keyword/2022-06-01.parquet")

    _materialize_days(project, instance, 14, 14)
    month = _month(project, instance)

    assert month.success
    top = project.lake.dataset_of_folder("monthly_top_keyword").to_table()
    assert set(top["total_searches"].to_pylist()) == {14}  # one search a day for each user


@pytest.mark.parametrize(
    ("raw", "days"),
    [
        ("", tuple(range(1, 15))),
        ("1-14", tuple(range(1, 15))),
        ("1-7, 15 ,20-21,7", (1, 2, 3, 4, 5, 6, 7, 15, 20, 21)),
        ("1-31", tuple(range(1, 32))),
    ],
)
def test_the_window_is_days_and_ranges(raw, days):
    assert Settings.from_env({"SEARCH_EXPORT_DAYS": raw}).search_export_days == days


@pytest.mark.parametrize("raw", ["0", "1-32", "14-1", "1-", "a", "1;2", "1,,2", "-3", "1.5"])
def test_a_bad_window_stops_the_configuration_naming_the_variable(raw):
    with pytest.raises(ConfigurationError, match=f"^SEARCH_EXPORT_DAYS={raw!r}: expected days"):
        Settings.from_env({"SEARCH_EXPORT_DAYS": raw})
