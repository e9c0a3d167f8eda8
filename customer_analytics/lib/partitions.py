"""Partitions of the nightly exports (the viewing log's days and months, which analytics
shares; the search log's) and how partition keys read. The clickstream's hours are its own
(`defs/web/partitions.py`)."""

from datetime import date, datetime, timedelta

import dagster as dg

CONTENT_START = "2022-04-01"
SEARCH_START = "2022-06-01"

content_daily = dg.DailyPartitionsDefinition(start_date=CONTENT_START)
content_monthly = dg.MonthlyPartitionsDefinition(start_date=CONTENT_START)
search_daily = dg.DailyPartitionsDefinition(start_date=SEARCH_START)
search_monthly = dg.MonthlyPartitionsDefinition(start_date=SEARCH_START)

HOUR_KEY = "%Y-%m-%d-%H:%M"  # Dagster's format for hourly partitions

# A month of daily partitions is one run, not thirty.
single_run = dg.BackfillPolicy.single_run()


def partition_date(key: str) -> date:
    """Daily and monthly keys alike are ISO dates: `2022-04-01`."""
    return date.fromisoformat(key)


def partition_hour(key: str) -> datetime:
    """An hourly key, `2022-04-01-13:00`, as the naive UTC hour it names."""
    return datetime.strptime(key, HOUR_KEY)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)
