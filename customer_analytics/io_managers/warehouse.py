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

    def read(self, table: str, window: Window) -> pa.Table: ...


def connect_warehouse(url: str) -> Warehouse:
    url = resolve_warehouse_url(url)
    if url.startswith("duckdb:///"):
        from customer_analytics.io_managers.duckdb_warehouse import DuckDBWarehouse

        return DuckDBWarehouse(url.removeprefix("duckdb:///"))
    raise ValueError(
        "WAREHOUSE_URL must look like duckdb:///path.duckdb; "
        f"got a URL with scheme {url.split(':', 1)[0]!r}"
    )


def _window(context: dg.OutputContext | dg.InputContext) -> Window:
    if not context.has_asset_partitions:
        return None
    return (partition_column(context), *time_window(context))


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Writes Arrow tables to the warehouse named by `url`, replacing exactly the partitions
    materialized (delete-then-insert in one transaction), and reads them back as Arrow."""

    url: str

    def handle_output(self, context: dg.OutputContext, obj: pa.Table) -> None:
        table = context.asset_key.path[-1]
        window = _window(context)
        connect_warehouse(self.url).replace(table, obj, window)
        scope = "all rows" if window is None else f"{window[0]} in [{window[1]}, {window[2]})"
        context.log.info(f"Replaced {scope} of warehouse table {table}: {obj.num_rows:,} rows")
        context.add_output_metadata({**table_metadata(obj), "table": table})

    def load_input(self, context: dg.InputContext) -> pa.Table:
        return connect_warehouse(self.url).read(context.asset_key.path[-1], _window(context))
