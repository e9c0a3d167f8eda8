"""The one entry point: every definition under `defs/`, with resources chosen by configuration."""

from pathlib import Path

import dagster as dg

from customer_analytics.io_managers import ParquetIOManager, WarehouseIOManager
from customer_analytics.lib.landing import CsvExports, LandingZone
from customer_analytics.settings import Settings


def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "landing": LandingZone(uri=settings.raw_data_uri),
        "exports": CsvExports(uri=settings.export_dir),
        "lake_io_manager": ParquetIOManager(base_uri=settings.lake_uri),
        "warehouse_io_manager": WarehouseIOManager(url=settings.warehouse_url_config),
    }


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.components.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources=build_resources(Settings.from_env())),
    )
