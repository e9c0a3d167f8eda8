"""Local paths and `s3://` URIs behind one interface (Arrow's filesystems).

S3 is configured by what dagster-aws's `S3Resource` holds (endpoint, region, retries;
`settings.py` fills them from `AWS_ENDPOINT_URL` and `AWS_REGION`), so MinIO and other
S3-compatible servers work by configuration alone. Keys come from the AWS credential chain.
"""

import contextlib
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq


class S3Settings(Protocol):
    """What of an S3 client's configuration Arrow's client takes: dagster-aws's `S3Resource`
    has it, and the engines need nothing else of Dagster."""

    region_name: str | None
    endpoint_url: str | None
    aws_access_key_id: str | None
    aws_secret_access_key: str | None
    aws_session_token: str | None
    max_attempts: int | None


def s3_filesystem(s3: S3Settings) -> pafs.S3FileSystem:
    """Arrow's S3 client with the resource's settings; transient errors (throttling, 5xx,
    dropped connections) are retried by the AWS standard strategy."""
    return pafs.S3FileSystem(
        region=s3.region_name or "us-east-1",
        endpoint_override=s3.endpoint_url,
        access_key=s3.aws_access_key_id,
        secret_key=s3.aws_secret_access_key,
        session_token=s3.aws_session_token,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=s3.max_attempts or 5),
    )


# Local staging files: `.<target name>.<32 hex digits>.tmp` (hidden, so that dataset discovery
# and the landing-zone sensors skip them), and the unhidden form of earlier releases. A writer
# adds to its file at least every few seconds; one untouched for this long belongs to a process
# that died.
STAGING_NAME = re.compile(r".+\.[0-9a-f]{32}\.tmp")
STALE_STAGING_SECONDS = 15 * 60


def _remove_stale_staging(fs: pafs.FileSystem, folder: str) -> None:
    cutoff = time.time_ns() - STALE_STAGING_SECONDS * 1_000_000_000
    for info in fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
        if (
            info.type == pafs.FileType.File
            and STAGING_NAME.fullmatch(info.base_name)
            and info.mtime_ns < cutoff
        ):
            with contextlib.suppress(FileNotFoundError):  # another writer was quicker
                fs.delete_file(info.path)


@dataclass(frozen=True)
class Location:
    """A root folder, local or in S3, and the files below it."""

    uri: str
    s3: S3Settings | None = None

    @cached_property
    def filesystem(self) -> pafs.FileSystem:
        if self.uri.startswith("s3://"):
            if self.s3 is None:
                raise ValueError(
                    f"{self.uri} is in S3: its Location needs the S3 settings (an S3Resource)"
                )
            return s3_filesystem(self.s3)
        return pafs.LocalFileSystem()

    @property
    def root(self) -> str:
        return self.uri.removeprefix("s3://").rstrip("/")

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    @property
    def is_local(self) -> bool:
        return not self.uri.startswith("s3://")

    def describe(self, relative: str) -> str:
        """The full URI of a file, for messages."""
        return f"{self.uri.rstrip('/')}/{relative}"

    def exists(self, relative: str) -> bool:
        return self.filesystem.get_file_info(self.path(relative)).type != pafs.FileType.NotFound

    def size(self, relative: str) -> int:
        return self.filesystem.get_file_info(self.path(relative)).size

    def read_buffer(self, relative: str) -> pa.Buffer:
        """A whole file: memory-mapped locally (no copy), read in full from S3."""
        if self.is_local:
            return pa.memory_map(self.path(relative)).read_buffer()
        with self.filesystem.open_input_stream(self.path(relative)) as stream:
            return stream.read_buffer()

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

    def file_versions(self, relative: str) -> dict[str, str]:
        """Every file below a folder (recursively), as relative path → a version that changes
        when the file is rewritten (modification time and size)."""
        selector = pafs.FileSelector(self.path(relative), allow_not_found=True, recursive=True)
        root = f"{self.root}/"
        return {
            info.path.removeprefix(root): f"{info.mtime_ns}-{info.size}"
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File and not info.base_name.startswith(".")
        }

    def read_parquet(self, relative: str) -> pa.Table:
        return pq.read_table(self.path(relative), filesystem=self.filesystem)

    def parquet_row_count(self, relative: str) -> int:
        with self.filesystem.open_input_file(self.path(relative)) as handle:
            return pq.ParquetFile(handle).metadata.num_rows

    def write(self, relative: str, write_to: Callable[[pa.NativeFile], None]) -> None:
        """Writes a file that readers see whole or not at all.

        Locally the file is written beside its target, under a hidden name, and renamed over
        it; an S3 object only appears once its upload has completed. A process killed
        mid-write leaves its staging file behind: the next write into the folder removes
        those that nobody has written to for `STALE_STAGING_SECONDS`.
        """
        if not self.is_local:
            with self.filesystem.open_output_stream(self.path(relative)) as sink:
                write_to(sink)
            return
        with (
            self._local_staging(relative) as staging,
            self.filesystem.open_output_stream(staging) as sink,
        ):
            write_to(sink)

    def write_file(self, relative: str, write_to_path: Callable[[str], None]) -> None:
        """`write` for a writer that wants a local path of its own (DuckDB's COPY): in S3 the
        file is written locally first, then uploaded."""
        if self.is_local:
            with self._local_staging(relative) as staging:
                write_to_path(staging)
            return
        with tempfile.TemporaryDirectory() as folder:
            local = f"{folder}/file"
            write_to_path(local)
            with pafs.LocalFileSystem().open_input_stream(local) as source:
                self.write(relative, lambda sink: sink.upload(source))

    @contextlib.contextmanager
    def _local_staging(self, relative: str) -> Iterator[str]:
        fs, target = self.filesystem, self.path(relative)
        folder, name = target.rsplit("/", 1)
        fs.create_dir(folder, recursive=True)
        _remove_stale_staging(fs, folder)
        staging = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
        try:
            yield staging
            fs.move(staging, target)
        finally:
            if fs.get_file_info(staging).type != pafs.FileType.NotFound:
                fs.delete_file(staging)

    def move(self, source: str, target: str) -> None:
        """Puts a written file in place of another: a rename locally (atomic, replacing the
        target), a server-side copy then a delete in S3 (readers see the old or the new object)."""
        fs = self.filesystem
        if isinstance(fs, pafs.LocalFileSystem):
            # A Hive-style partition's folder may not exist yet.
            fs.create_dir(self.path(target).rsplit("/", 1)[0], recursive=True)
            fs.move(self.path(source), self.path(target))
        else:
            fs.copy_file(self.path(source), self.path(target))
            fs.delete_file(self.path(source))

    def delete(self, relative: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.filesystem.delete_file(self.path(relative))

    def delete_tree(self, relative: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.filesystem.delete_dir(self.path(relative))

    def remove_stale_below(self, folder: str, stale_seconds: int) -> None:
        """Removes every file below `folder` that nobody wrote for that long."""
        cutoff = time.time_ns() - stale_seconds * 1_000_000_000
        selector = pafs.FileSelector(self.path(folder), allow_not_found=True, recursive=True)
        for info in self.filesystem.get_file_info(selector):
            if info.type == pafs.FileType.File and info.mtime_ns < cutoff:
                with contextlib.suppress(FileNotFoundError):
                    self.filesystem.delete_file(info.path)

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
