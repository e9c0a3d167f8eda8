"""Jobs and sensors of the whole graph: the declarative-automation sensor that evaluates every
asset's AutomationCondition, and the sensors that notice new raw files."""

import dagster as dg

from customer_analytics.lib.automation import new_files_sensor
from customer_analytics.lib.partitions import content_daily, search_daily, web_hourly

content_daily_job = dg.define_asset_job(
    "content_daily_job",
    selection=dg.AssetSelection.assets("raw_log_content", "content_quarantine", "daily_pivot"),
    partitions_def=content_daily,
    description="One day of the viewing log: validate, quarantine, pivot.",
)
search_daily_job = dg.define_asset_job(
    "search_daily_job",
    selection=dg.AssetSelection.assets("raw_log_search", "search_quarantine"),
    partitions_def=search_daily,
    description="One day of the search log: validate, normalize, quarantine.",
)

web_hourly_job = dg.define_asset_job(
    "web_hourly_job",
    selection=dg.AssetSelection.assets("raw_web_events", "web_quarantine", "web_extra_columns"),
    partitions_def=web_hourly,
    description="One hour of the clickstream: validate, quarantine, keep extra columns.",
)

automation = dg.AutomationConditionSensorDefinition(
    "automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates each asset's AutomationCondition: the newest day every night, "
    "downstream partitions once their inputs are complete.",
)

new_content_files = new_files_sensor(
    "new_content_files", "log_content", content_daily_job, content_daily
)
new_search_folders = new_files_sensor(
    "new_search_folders", "log_search", search_daily_job, search_daily
)
new_web_hours = new_files_sensor("new_web_hours", "web_events", web_hourly_job, web_hourly)
