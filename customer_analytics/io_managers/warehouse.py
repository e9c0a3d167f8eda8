"""The serving warehouse: one table per asset, a partition replaced in one transaction."""

from typing import Protocol

import dagster as dg
import pyarrow as pa

from customer_analytics.io_managers.partitioning import partition_column, time_window
from customer_analytics.lib.metadata import table_metadata
from customer_analytics.settings import resolve_warehouse_url

# (column, first value, first value after) of the rows a step owns; None for a whole table.
Window = tuple[str, object, object] | None


class Warehouse(Protocol):
    def replace(self, table: str, rows: pa.Table, window: Window) -> None:
        """Deletes the window's rows and inserts `rows`, atomically for readers."""

    def upsert(self, table: str, rows: pa.Table) -> None:
        """Inserts `rows`, replacing those with the same primary key."""

    def read(self, table: str, window: Window, schema: pa.Schema | None = None) -> pa.Table:
        """The window's rows; with `schema`, a table that does not exist yet reads as empty
        (a read creates nothing); without, a missing table is a LookupError."""

    def columns(self, table: str) -> list[str] | None:
        """The table's column names in order, or None when it does not exist."""


def connect_warehouse(url: str) -> Warehouse:
    url = resolve_warehouse_url(url)
    if url.startswith("duckdb:///"):
        from customer_analytics.io_managers.duckdb_warehouse import DuckDBWarehouse

        return DuckDBWarehouse(url.removeprefix("duckdb:///"))
    if url.startswith("mysql+pymysql://"):
        from customer_analytics.io_managers.mysql_warehouse import MySQLWarehouse

        return MySQLWarehouse(url)
    raise ValueError(
        "WAREHOUSE_URL must look like duckdb:///path.duckdb or "
        "mysql+pymysql://user:pass@host:3306/db; "
        f"got a URL with scheme {url.split(':', 1)[0]!r}"
    )


class WarehouseResource(dg.ConfigurableResource):
    """The serving warehouse named by `WAREHOUSE_URL`, for assets that query it directly."""

    url: str

    def connect(self) -> Warehouse:
        return connect_warehouse(self.url)


def _window(context: dg.OutputContext | dg.InputContext) -> Window:
    if not context.has_asset_partitions:
        return None
    return (partition_column(context), *time_window(context))


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Writes Arrow tables to the warehouse, replacing exactly the partitions materialized
    (delete-then-insert in one transaction), and reads them back as Arrow."""

    warehouse: dg.ResourceDependency[WarehouseResource]

    def handle_output(self, context: dg.OutputContext, obj: pa.Table) -> None:
        table = context.asset_key.path[-1]
        window = _window(context)
        self.warehouse.connect().replace(table, obj, window)
        scope = "all rows" if window is None else f"{window[0]} in [{window[1]}, {window[2]})"
        context.log.info(f"Replaced {scope} of warehouse table {table}: {obj.num_rows:,} rows")
        context.add_output_metadata({**table_metadata(obj), "table": table})

    def load_input(self, context: dg.InputContext) -> pa.Table:
        return self.warehouse.connect().read(context.asset_key.path[-1], _window(context))
