"""Partitions written to the lake one at a time and put in place together.

A range run (a single-run backfill) writes each partition (a day, an hour) as soon as it is
computed (one at a time on DuckDB, so that it holds one partition in memory however many it
covers; all at once on Spark), beside its place in a hidden folder of its own
(`<asset>/.staged/<run id>/<key>.parquet`). Once the checks have passed,
every staged file is moved over its partition file; when they fail, or the run dies, the staged
files are dropped and the lake keeps what it had. What the assets then hand
to the IO manager is a reference to the files written, never their rows.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import pyarrow as pa

from customer_analytics.engines.base import Engine, LakeFiles, Query
from customer_analytics.lib.lake import Lake

# Hidden, so that readers of the asset's folder skip it; the files in it are not (Spark ignores
# a file whose own name is hidden, even when named explicitly).
STAGING_FOLDER = ".staged"
# A run that died leaves its staged files; the next run's staging removes them after this long,
# far beyond the longest backfill, so that a run never loses the files of another.
STALE_STAGED_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class StoredPartitions:
    """What a lake asset returns: its partitions, already in place in the lake."""

    asset: str
    keys: tuple[str, ...]
    files: LakeFiles


class StagedPartitions:
    """Use as a context manager: `write` each partition, then `commit`; leaving the block
    without committing drops what was staged."""

    def __init__(self, lake: Lake, run_id: str, engine: Engine):
        self.lake = lake
        self.run_id = run_id
        self.engine = engine
        self._staged: dict[str, dict[str, str]] = {}  # asset -> key -> staged file
        self._schemas: dict[str, pa.Schema | None] = {}

    def _run_folder(self, asset: str) -> str:
        return f"{asset}/{STAGING_FOLDER}/{self.run_id}"

    def _staged_file(self, asset: str, key: str) -> str:
        return f"{self._run_folder(asset)}/{key}.parquet"

    def write(self, asset: str, keys: Sequence[str], query: Query, by: str | None = None) -> None:
        """The engine writes the query's result as the staged files of partitions: with more
        than one key, each row to the key its column `by` reads as text (`Engine.write`)."""
        files = self._staged.setdefault(asset, {})
        if not files:
            self.lake.location.remove_stale_below(f"{asset}/{STAGING_FOLDER}", STALE_STAGED_SECONDS)
        written = {key: self._staged_file(asset, key) for key in keys}
        files.update(written)
        self._schemas[asset] = query.schema
        self.engine.write(query, self.lake.location, written, by)

    def files(self, asset: str) -> LakeFiles:
        """The staged partitions of `asset`, by reference (for the checks)."""
        staged = tuple(self._staged[asset].values())
        return LakeFiles(self.lake.location, staged, self._schemas[asset])

    def commit(self) -> dict[str, StoredPartitions]:
        """Moves every staged file over its partition file; the references to them."""
        stored = {}
        for asset, files in self._staged.items():
            for key, staged in files.items():
                self.lake.location.move(staged, self.lake.partition_file(asset, key))
            self.lake.location.delete_tree(self._run_folder(asset))
            relatives = tuple(self.lake.partition_file(asset, key) for key in files)
            stored[asset] = StoredPartitions(
                asset=asset,
                keys=tuple(files),
                files=LakeFiles(self.lake.location, relatives, self._schemas[asset]),
            )
        self._staged.clear()
        return stored

    def discard(self) -> None:
        for asset in self._staged:
            self.lake.location.delete_tree(self._run_folder(asset))
        self._staged.clear()

    def __enter__(self) -> "StagedPartitions":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.discard()  # nothing left once committed
