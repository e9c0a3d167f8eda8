"""The clickstream's partitions: hours as the poller lands them, and the days and months of the
sessions and the loyalty table, from the first hour (`rules.py` FIRST_HOUR)."""

import dagster as dg

from customer_analytics.defs.web.rules import FIRST_HOUR
from customer_analytics.lib.partitions import HOUR_KEY

START = FIRST_HOUR.date().isoformat()

web_hourly = dg.HourlyPartitionsDefinition(start_date=FIRST_HOUR.strftime(HOUR_KEY))
web_daily = dg.DailyPartitionsDefinition(start_date=START)
web_monthly = dg.MonthlyPartitionsDefinition(start_date=START)
