"""The clickstream's hour job, run by the sensor of hours that a batch lands in (late events
included)."""

import dagster as dg

from customer_analytics.defs.web.landing import WEB_EVENTS, hour_of_path
from customer_analytics.defs.web.partitions import web_hourly
from customer_analytics.lib.automation import new_files_sensor

web_hourly_job = dg.define_asset_job(
    "web_hourly_job",
    selection=dg.AssetSelection.assets("raw_web_events", "web_quarantine", "web_extra_columns"),
    description="One hour of the clickstream: validate, quarantine, keep extra columns.",
)

new_web_hours = new_files_sensor(
    "new_web_hours", WEB_EVENTS, hour_of_path, web_hourly_job, web_hourly
)
