"""The search log's day job, run by the sensor of new and rewritten day folders."""

import dagster as dg

from customer_analytics.defs.search.landing import FOLDER
from customer_analytics.lib.automation import new_files_sensor
from customer_analytics.lib.landing import day_of_path
from customer_analytics.lib.partitions import search_daily

search_daily_job = dg.define_asset_job(
    "search_daily_job",
    selection=dg.AssetSelection.assets("raw_log_search", "search_quarantine"),
    description="One day of the search log: validate, normalize, quarantine.",
)

new_search_folders = new_files_sensor(
    "new_search_folders", FOLDER, day_of_path, search_daily_job, search_daily
)
