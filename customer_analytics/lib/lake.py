"""The Parquet lake, where every partitioned asset of the graph is stored."""

import re
from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.engines.base import LakeFiles
from customer_analytics.lib.folder import Folder

# What Arrow raises for bytes that are not a Parquet file it can read (garbage, a truncated
# upload, an unsupported encoding); network errors are OSErrors and stay retryable.
UNREADABLE = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


# An hourly partition key, `2022-04-01-13:00`.
HOUR_KEY = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{2}):00")


class Lake(Folder):
    """The Parquet lake: `<uri>/<asset>/<partition key>.parquet`; an hourly asset's partitions
    are Hive-style folders, `<asset>/year=2022/month=04/day=01/hour=13/part-0.parquet`, which
    DuckDB and Spark prune on `year`, `month`, `day` and `hour`."""

    @staticmethod
    def partition_file(asset: str, partition_key: str | None) -> str:
        if partition_key is None:
            return f"{asset}.parquet"
        if hour := HOUR_KEY.fullmatch(partition_key):
            year, month, day, hh = hour.groups()
            return f"{asset}/year={year}/month={month}/day={day}/hour={hh}/part-0.parquet"
        return f"{asset}/{partition_key}.parquet"

    def write_partitions(
        self, asset: str, table: pa.Table, column: str | None, keys: list[str] | None
    ) -> str:
        """Writes one file per partition key, each holding the rows whose `column` is that day
        or month, and returns the asset's folder. Each file is replaced whole; a row outside
        `keys` is an error, not a silent drop."""
        if keys is None:
            parts = {None: table}
        else:
            parts = {
                key: table.filter(pc.equal(table[column], date.fromisoformat(key))) for key in keys
            }
            stray = table.num_rows - sum(part.num_rows for part in parts.values())
            if stray:
                raise dg.DagsterInvariantViolationError(
                    f"{stray} rows of {asset} have a {column} outside the partitions being "
                    f"materialized ({keys[0]}..{keys[-1]})"
                )
        for key, part in parts.items():
            self.location.write_parquet(self.partition_file(asset, key), part)
        return self.location.describe(asset)

    def files(
        self, asset: str, partition_keys: list[str | None], schema: pa.Schema | None = None
    ) -> LakeFiles:
        """Stored partitions of an asset, by reference, for an engine to read."""
        relatives = tuple(self.partition_file(asset, key) for key in partition_keys)
        return LakeFiles(self.location, relatives, schema)

    def stored(self, asset: str, partition_key: str) -> bool:
        """Whether a partition has been written."""
        return self.location.exists(self.partition_file(asset, partition_key))

    def row_count(self, asset: str, partition_key: str) -> int | None:
        """Rows of a stored partition, from the Parquet footer; None if never stored."""
        relative = self.partition_file(asset, partition_key)
        if not self.location.exists(relative):
            return None
        return self.location.parquet_row_count(relative)
