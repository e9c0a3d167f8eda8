"""The serving warehouse: one table per asset, a partition replaced in one transaction; for
assets that ask for it, a CSV copy of what was stored, written once the warehouse committed."""

from datetime import date
from typing import NamedTuple, Protocol

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.io_managers.partitioning import (
    partition_column,
    partition_keys,
    time_window,
)
from customer_analytics.lib.exports import CsvExports
from customer_analytics.lib.metadata import table_metadata
from customer_analytics.lib.retries import retry_only_if_transient
from customer_analytics.settings import resolve_warehouse_url


# (column, first value, first value after) of the rows a step owns; None for a whole table.
class PartitionWindow(NamedTuple):
    """The rows of a partition in a warehouse table: `start <= column < end`."""

    column: str
    start: date
    end: date


# None: the whole table (an unpartitioned asset).
Window = PartitionWindow | None

# Definition metadata of an asset whose stored rows are also exported as CSV.
EXPORT_CSV = "export_csv"


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
    return PartitionWindow(partition_column(context), *time_window(context))


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Writes Arrow tables to the warehouse, replacing exactly the partitions materialized
    (delete-then-insert in one transaction), and reads them back as Arrow.

    An asset whose definition metadata has `export_csv: True` is also written as CSV, one file
    per partition, after the warehouse committed: a failed load leaves the previous CSV, so the
    export never holds rows the warehouse refused."""

    warehouse: dg.ResourceDependency[WarehouseResource]
    exports: dg.ResourceDependency[CsvExports]

    def handle_output(self, context: dg.OutputContext, obj: pa.Table) -> None:
        table = context.asset_key.path[-1]
        window = _window(context)
        with retry_only_if_transient(f"Writing warehouse table {table}"):
            self.warehouse.connect().replace(table, obj, window)
        scope = (
            "all rows" if window is None else f"{window.column} in [{window.start}, {window.end})"
        )
        context.log.info(f"Replaced {scope} of warehouse table {table}: {obj.num_rows:,} rows")
        metadata = {**table_metadata(obj), "table": table}
        if (context.definition_metadata or {}).get(EXPORT_CSV):
            where = self._export(context, table, obj)
            context.log.info(f"Exported {obj.num_rows:,} rows of {table} to {where}")
            metadata["csv"] = dg.MetadataValue.path(where)
        context.add_output_metadata(metadata)

    def _export(self, context: dg.OutputContext, table: str, obj: pa.Table) -> str:
        """One CSV per partition (`<table>/<partition key>.csv`), or `<table>.csv`."""
        keys = partition_keys(context)
        if keys is None:
            return self.exports.write(table, None, obj)
        if len(keys) == 1:
            return self.exports.write(table, keys[0], obj)
        column, partitions = partition_column(context), context.asset_partitions_def
        for key in keys:
            window = partitions.time_window_for_partition_key(key)
            rows = obj.filter(
                (pc.field(column) >= window.start.date()) & (pc.field(column) < window.end.date())
            )
            self.exports.write(table, key, rows)
        return self.exports.folder(table)

    def load_input(self, context: dg.InputContext) -> pa.Table:
        return self.warehouse.connect().read(context.asset_key.path[-1], _window(context))
