"""The CSV exports of the serving tables."""

import pyarrow as pa
import pyarrow.csv as pacsv

from customer_analytics.lib.folder import Folder
from customer_analytics.rules.csv_cells import spreadsheet_safe


class CsvExports(Folder):
    """Flat CSV copies of the serving tables, one file per partition, for spreadsheet users."""

    def write(self, name: str, partition_key: str | None, table: pa.Table) -> str:
        """Writes `<name>/<partition_key>.csv`, or `<name>.csv` for an unpartitioned table, its
        text cells safe to open in a spreadsheet (`rules/csv_cells.py`)."""
        relative = f"{name}/{partition_key}.csv" if partition_key else f"{name}.csv"
        cells = spreadsheet_safe(table)
        self.location.write(relative, lambda sink: pacsv.write_csv(cells, sink))
        return self.location.describe(relative)

    def folder(self, name: str) -> str:
        return self.location.describe(name)
