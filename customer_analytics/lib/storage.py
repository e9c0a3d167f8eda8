"""Local paths and `s3://` URIs behind one interface (Arrow's filesystems)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Location:
    """A root folder, local or in S3, and the files below it."""

    uri: str

    @property
    def _fs_and_root(self) -> tuple[pafs.FileSystem, str]:
        return pafs.FileSystem.from_uri(self.uri)

    @property
    def filesystem(self) -> pafs.FileSystem:
        return self._fs_and_root[0]

    def path(self, relative: str) -> str:
        return f"{self._fs_and_root[1].rstrip('/')}/{relative}"

    def describe(self, relative: str) -> str:
        """The full URI of a file, for messages."""
        return f"{self.uri.rstrip('/')}/{relative}"

    def exists(self, relative: str) -> bool:
        return self.filesystem.get_file_info(self.path(relative)).type != pafs.FileType.NotFound

    def read_bytes(self, relative: str) -> bytes:
        with self.filesystem.open_input_stream(self.path(relative)) as stream:
            return stream.read()

    def list_files(self, relative: str, suffix: str) -> list[str]:
        """The files directly in a folder whose names end with `suffix`, sorted by name, as
        paths relative to this location."""
        selector = pafs.FileSelector(self.path(relative), allow_not_found=True)
        names = sorted(
            info.base_name
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File and info.base_name.endswith(suffix)
        )
        return [f"{relative}/{name}" for name in names]

    def read_parquet(self, relative: str) -> pa.Table:
        return pq.read_table(self.path(relative), filesystem=self.filesystem)

    def write(self, relative: str, write_to: Callable[[pa.NativeFile], None]) -> None:
        """Writes a file that readers see whole or not at all.

        Locally the file is written beside its target and renamed over it; an S3 object only
        appears once its upload has completed.
        """
        fs, target = self.filesystem, self.path(relative)
        fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
        local = isinstance(fs, pafs.LocalFileSystem)
        staging = f"{target}.{uuid.uuid4().hex}.tmp" if local else target
        try:
            with fs.open_output_stream(staging) as sink:
                write_to(sink)
            if local:
                fs.move(staging, target)
        finally:
            if local and fs.get_file_info(staging).type != pafs.FileType.NotFound:
                fs.delete_file(staging)

    def write_parquet(self, relative: str, table: pa.Table) -> None:
        self.write(relative, lambda sink: pq.write_table(table, sink))

    def dataset_of_folder(self, relative: str) -> ds.Dataset:
        return ds.dataset(self.path(relative), format="parquet", filesystem=self.filesystem)

    def dataset(self, relatives: list[str], schema: pa.Schema | None = None) -> ds.Dataset:
        return ds.dataset(
            [self.path(relative) for relative in relatives],
            schema=schema,
            format="parquet",
            filesystem=self.filesystem,
        )
