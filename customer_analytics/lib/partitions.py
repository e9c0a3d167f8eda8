"""Partitions of the asset graph: the days and months that the landing zone holds."""

from datetime import date, timedelta

import dagster as dg

CONTENT_START = "2022-04-01"
SEARCH_START = "2022-06-01"

content_daily = dg.DailyPartitionsDefinition(start_date=CONTENT_START)
content_monthly = dg.MonthlyPartitionsDefinition(start_date=CONTENT_START)
search_daily = dg.DailyPartitionsDefinition(start_date=SEARCH_START)
search_monthly = dg.MonthlyPartitionsDefinition(start_date=SEARCH_START)

# A month of daily partitions is one run, not thirty.
single_run = dg.BackfillPolicy.single_run()


def partition_date(key: str) -> date:
    """Daily and monthly keys alike are ISO dates: `2022-04-01`."""
    return date.fromisoformat(key)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)
