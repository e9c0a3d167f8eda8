"""The Parquet lake: one file per partition, `<base_uri>/<asset>/<partition key>.parquet`."""

import dagster as dg
import pyarrow as pa

from customer_analytics.engines.base import LakeFiles
from customer_analytics.engines.storage import Location
from customer_analytics.io_managers.partitioning import partition_column, partition_keys
from customer_analytics.lib.lake import UNREADABLE, Lake
from customer_analytics.lib.metadata import shortened, table_metadata
from customer_analytics.lib.retries import retry_only_if_transient
from customer_analytics.lib.staging import StoredPartitions


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores Arrow tables as Parquet, locally or in S3, and hands them over by reference.

    A run over a range of partitions (a single-run backfill) returns one table spanning the
    range; it is split on the asset's `partition_expr` column and each partition is written
    whole, replacing only its own file. An asset that wrote its partitions itself, one at a time
    (`lib/staging.py`), returns their reference instead, which is only described. Inputs
    come back as `engines.base.LakeFiles` over the requested partitions: the engine reads
    the files itself. An input whose metadata
    sets `allow_missing_partitions` loads the partitions that exist (listing the others in the
    log) instead of failing, for logs that cover only part of a month. A stored file that is not
    readable Parquet fails the step at once, naming the file; it is not retried. Writing the
    lake is retried only for errors a retry can fix (`retry_only_if_transient`).
    """

    lake: dg.ResourceDependency[Lake]

    @property
    def _lake(self) -> Location:
        return self.lake.location

    def _relative(self, asset_key: dg.AssetKey, partition_key: str | None) -> str:
        return self.lake.partition_file("/".join(asset_key.path), partition_key)

    def handle_output(self, context: dg.OutputContext, obj: pa.Table | StoredPartitions) -> None:
        keys = partition_keys(context)
        asset = "/".join(context.asset_key.path)
        if isinstance(obj, StoredPartitions):
            # Written by the asset one partition at a time (lib/staging.py): only described.
            where = self._lake.describe(asset)
            context.add_output_metadata(
                {**table_metadata(obj.files.dataset()), "path": dg.MetadataValue.path(where)}
            )
            return
        column = partition_column(context) if keys is not None else None
        with retry_only_if_transient(f"Writing {asset} to the lake"):
            where = self.lake.write_partitions(asset, obj, column, keys)
        context.log.info(
            f"Wrote {obj.num_rows:,} rows in {len(keys or [None])} file(s) under {where}"
        )
        context.add_output_metadata({**table_metadata(obj), "path": dg.MetadataValue.path(where)})

    def load_input(self, context: dg.InputContext) -> LakeFiles:
        keys = partition_keys(context) or [None]
        relatives = [self._relative(context.asset_key, key) for key in keys]
        missing = [self._lake.describe(rel) for rel in relatives if not self._lake.exists(rel)]
        if missing and (context.definition_metadata or {}).get("allow_missing_partitions"):
            context.log.info(
                f"Loading {len(relatives) - len(missing)} of {len(relatives)} partitions of "
                f"{context.asset_key.to_user_string()}; not materialized: {', '.join(missing)}"
            )
            relatives = [rel for rel in relatives if self._lake.exists(rel)]
            missing = [] if relatives else missing
        if missing:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} has not been materialized for "
                f"{len(missing)} of the partitions needed: {', '.join(missing[:5])}"
            )
        asset = context.asset_key.to_user_string()
        with retry_only_if_transient(f"Reading {asset} from the lake"):
            for relative in relatives:  # each footer, so that a bad file is named
                try:
                    self._lake.parquet_row_count(relative)
                except UNREADABLE as error:
                    raise dg.Failure(
                        f"{self._lake.describe(relative)} is not a readable Parquet file "
                        f"({shortened(error)}): materialize that partition of {asset} again",
                        allow_retries=False,
                    ) from error
            return LakeFiles(self._lake, tuple(relatives))
