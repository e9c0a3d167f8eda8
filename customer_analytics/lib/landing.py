"""The landing zone of raw logs and the CSV exports: folders that are local or in S3."""

from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.csv as pacsv

from customer_analytics.lib.storage import Location


class LandingZone(dg.ConfigurableResource):
    """The raw logs as the export drops them: `log_content/YYYYMMDD.json`."""

    uri: str

    @property
    def location(self) -> Location:
        return Location(self.uri)

    @staticmethod
    def content_file(day: date) -> str:
        return f"log_content/{day:%Y%m%d}.json"

    def missing_content_files(self, days: list[date]) -> list[str]:
        return [
            self.location.describe(self.content_file(day))
            for day in days
            if not self.location.exists(self.content_file(day))
        ]

    def read_content_day(self, day: date) -> bytes:
        return self.location.read_bytes(self.content_file(day))


class CsvExports(dg.ConfigurableResource):
    """Flat CSV copies of the serving tables, one file per partition, for spreadsheet users."""

    uri: str

    def write(self, name: str, partition_key: str, table: pa.Table) -> str:
        location = Location(self.uri)
        relative = f"{name}/{partition_key}.csv"
        location.write(relative, lambda sink: pacsv.write_csv(table, sink))
        return location.describe(relative)
