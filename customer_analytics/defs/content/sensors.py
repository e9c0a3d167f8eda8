"""The viewing log's day job, run by the sensor of new and rewritten day files."""

import dagster as dg

from customer_analytics.defs.content.assets import FOLDER
from customer_analytics.lib.automation import new_files_sensor
from customer_analytics.lib.landing import day_of_path
from customer_analytics.lib.partitions import content_daily

content_daily_job = dg.define_asset_job(
    "content_daily_job",
    selection=dg.AssetSelection.assets("raw_log_content", "content_quarantine", "daily_pivot"),
    description="One day of the viewing log: validate, quarantine, pivot.",
)

new_content_files = new_files_sensor(
    "new_content_files", FOLDER, day_of_path, content_daily_job, content_daily
)
