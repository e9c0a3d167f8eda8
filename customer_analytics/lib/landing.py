"""The folders the assets read and write, local or in S3: the landing zone of raw logs, the
Parquet lake and the CSV exports."""

from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from dagster_aws.s3 import S3Resource

from customer_analytics.lib.storage import Location


class Folder(dg.ConfigurableResource):
    """A folder the assets use: a local path or an `s3://` URI."""

    uri: str
    s3: S3Resource | None = None

    @property
    def location(self) -> Location:
        return Location(self.uri, self.s3)


class LandingZone(Folder):
    """The raw logs as the exports drop them: `log_content/YYYYMMDD.json` and
    `log_search/YYYYMMDD/part-*.parquet`."""

    @staticmethod
    def content_file(day: date) -> str:
        return f"log_content/{day:%Y%m%d}.json"

    def missing(self, relatives: list[str]) -> list[str]:
        """The full URIs of those files or folders that do not exist."""
        return [self.location.describe(rel) for rel in relatives if not self.location.exists(rel)]

    def read_content_day(self, day: date) -> bytes:
        return self.location.read_bytes(self.content_file(day))

    @staticmethod
    def search_folder(day: date) -> str:
        return f"log_search/{day:%Y%m%d}"

    def arrived(self, log: str) -> dict[str, str]:
        """The days present for `log` ("log_content" or "log_search") as partition key →
        version; a day's version changes when its file, or a part file of its folder, does."""
        days: dict[str, list[str]] = {}
        for path, version in self.location.file_versions(log).items():
            name = path.removeprefix(f"{log}/").split("/")[0].removesuffix(".json")
            if len(name) == 8 and name.isdigit() and path.endswith((".json", ".parquet")):
                days.setdefault(f"{name[:4]}-{name[4:6]}-{name[6:]}", []).append(version)
        return {day: "+".join(sorted(versions)) for day, versions in days.items()}

    def read_search_day(self, day: date, columns: tuple[str, ...]) -> pa.Table:
        """The day's part files in name order, rows numbered from 1 in that order."""
        parts = self.location.list_files(self.search_folder(day), ".parquet")
        tables = []
        for part in parts:
            table = self.location.read_parquet(part)
            missing = [column for column in columns if column not in table.column_names]
            if missing:
                raise dg.Failure(
                    f"{self.location.describe(part)} lacks the column(s) {', '.join(missing)}",
                    allow_retries=False,
                )
            tables.append(table.select(list(columns)))
        if not tables:
            raise dg.Failure(
                f"No part-*.parquet file in {self.location.describe(self.search_folder(day))}",
                allow_retries=False,
            )
        events = pa.concat_tables(tables, promote_options="permissive")
        return events.append_column(
            "row_number", pa.array(range(1, events.num_rows + 1), pa.int64())
        )


class Lake(Folder):
    """The Parquet lake: `<uri>/<asset>/<partition key>.parquet`."""

    @staticmethod
    def partition_file(asset: str, partition_key: str | None) -> str:
        return f"{asset}.parquet" if partition_key is None else f"{asset}/{partition_key}.parquet"

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

    def row_count(self, asset: str, partition_key: str) -> int | None:
        """Rows of a stored partition, from the Parquet footer; None if never stored."""
        relative = self.partition_file(asset, partition_key)
        if not self.location.exists(relative):
            return None
        return self.location.parquet_row_count(relative)


class CsvExports(Folder):
    """Flat CSV copies of the serving tables, one file per partition, for spreadsheet users."""

    def write(self, name: str, partition_key: str, table: pa.Table) -> str:
        relative = f"{name}/{partition_key}.csv"
        self.location.write(relative, lambda sink: pacsv.write_csv(table, sink))
        return self.location.describe(relative)
