"""The one entry point: every definition under `defs/`, with resources chosen by configuration."""

from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_pyspark import LazyPySparkResource

from customer_analytics.defs.analytics.report import Reports
from customer_analytics.defs.search.classifiers.resource import KeywordClassifierResource
from customer_analytics.defs.search.landing import SearchExport
from customer_analytics.defs.web.events_api import EventsApi
from customer_analytics.defs.web.resources import EngagementWeights
from customer_analytics.engines.spark import spark_config
from customer_analytics.io_managers import ParquetIOManager, WarehouseIOManager, WarehouseResource
from customer_analytics.lib.alerts import AlertWebhook
from customer_analytics.lib.engine import ComputeEngine
from customer_analytics.lib.exports import CsvExports
from customer_analytics.lib.lake import Lake
from customer_analytics.lib.landing import LandingZone
from customer_analytics.settings import Settings


def compute_engine(settings: Settings) -> ComputeEngine:
    if settings.compute_engine != "spark":
        return ComputeEngine(name=settings.compute_engine)
    config = spark_config(
        master=settings.spark_master_url,
        remote=settings.spark_remote,
        driver_memory=settings.spark_driver_memory,
        driver_host=settings.spark_driver_host,
        driver_bind_address=settings.spark_driver_bind_address,
    )
    return ComputeEngine(name="spark", spark=LazyPySparkResource(spark_config=config))


def build_resources(settings: Settings) -> dict[str, object]:
    warehouse = WarehouseResource(url=settings.warehouse_url_config)
    # Keys come from the AWS credential chain (boto3's and Arrow's own), never from the code.
    s3 = S3Resource(endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region)
    lake = Lake(uri=settings.lake_uri, s3=s3)
    exports = CsvExports(uri=settings.export_dir, s3=s3)
    return {
        "s3": s3,
        "landing": LandingZone(uri=settings.raw_data_uri, s3=s3),
        "search_export": SearchExport(days=list(settings.search_export_days)),
        "lake": lake,
        "engine": compute_engine(settings),
        "exports": exports,
        "reports": Reports(uri=settings.report_dir, s3=s3),
        "warehouse": warehouse,
        "lake_io_manager": ParquetIOManager(lake=lake),
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse, exports=exports),
        "thresholds": settings.check_thresholds,
        "events_api": EventsApi(
            url=settings.events_api_url,
            max_batches_per_run=settings.events_api_max_batches_per_run,
            max_seconds_per_run=settings.events_api_max_seconds_per_run,
        ),
        "engagement": EngagementWeights.from_setting(settings.web_event_weights),
        "alerts": AlertWebhook(
            url=dg.EnvVar("ALERT_WEBHOOK_URL") if settings.alert_webhook_configured else None,
            ui_url=settings.dagster_ui_url,
        ),
        "classifier": KeywordClassifierResource.from_settings(settings),
    }


def run_executor(settings: Settings) -> dg.ExecutorDefinition | None:
    """On Spark, a run's steps share one process, so that its driver (a JVM, its session and
    its warmed plans) starts once per run and not once per step; Spark runs each step's work in
    parallel itself. Otherwise Dagster's default: a process per step, or one for the run when its
    config says `in_process`."""
    return dg.in_process_executor if settings.compute_engine == "spark" else None


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    return dg.Definitions.merge(
        dg.components.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources=build_resources(settings), executor=run_executor(settings)),
    )
