"""Where assets are stored: the Parquet lake and the serving warehouse."""

from customer_analytics.io_managers.parquet import ParquetIOManager
from customer_analytics.io_managers.warehouse import WarehouseIOManager, WarehouseResource

__all__ = ["ParquetIOManager", "WarehouseIOManager", "WarehouseResource"]
