"""Fixtures shared by the whole suite: a project on the embedded stack (local files, DuckDB) or
on the production stack (S3 on loopback, MariaDB), and the services behind them."""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from customer_analytics.definitions import build_resources
from customer_analytics.defs.search.schemas import LOG_SEARCH_FILE
from customer_analytics.engines.storage import Location
from customer_analytics.settings import Settings

pytest_plugins = [
    "customer_analytics_tests.fixtures.mysql",
    "customer_analytics_tests.fixtures.s3",
    "customer_analytics_tests.fixtures.spark",
    "customer_analytics_tests.fixtures.engines",
    "customer_analytics_tests.fixtures.instances",
]


# The columns of the viewing-log tables as the design card names them, in order: the tests'
# own statement of the contract, not the package's.
PIVOT_COLUMNS = [
    "date",
    "Contract",
    "Total_Giai_Tri",
    "Total_Phim_Truyen",
    "Total_The_Thao",
    "Total_Thieu_Nhi",
    "Total_Truyen_Hinh",
]
PROFILE_COLUMNS = ["month", *PIVOT_COLUMNS[1:], "Active", "MostWatch", "Taste"]


def range_tags(first: str, last: str) -> dict[str, str]:
    """The tags of a single run over the partitions `first` to `last`, as a backfill sets them."""
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def content_line(_id: str, contract: str | None, app: str, duration: object) -> str:
    """One line of the viewing log, as the Elasticsearch export writes it."""
    source = {
        "Contract": contract,
        "Mac": "0C96E62FC55C",
        "TotalDuration": duration,
        "AppName": app,
    }
    hit = {"_index": "history", "_type": app.lower(), "_id": _id, "_score": 0, "_source": source}
    return json.dumps(hit)


@dataclass
class Project:
    """A landing zone, lake and warehouse, local or in S3 and MariaDB, for one test."""

    root: Path
    settings: Settings

    @property
    def raw(self) -> Location:
        return self.resources()["landing"].location

    @property
    def lake(self) -> Location:
        return self.resources()["lake"].location

    def write_content_day(self, day: date, lines: list[str]) -> str:
        relative = f"log_content/{day:%Y%m%d}.json"
        data = "".join(line + "\n" for line in lines).encode()
        self.raw.write(relative, lambda sink: sink.write(data))
        return self.raw.describe(relative)

    def write_search_day(self, day: date, rows: list[dict], part: str = "part-00000") -> str:
        """Rows give at least user_id, keyword and eventID; the other columns get plain values."""
        defaults = {
            "datetime": f"{day} 20:15:00.000",
            "category": "enter",
            "proxy_isp": "vnpt",
            "platform": "smarttv-sony",
            "networkType": "wifi",
            "action": "search",
            "userPlansMap": [],
        }
        table = pa.Table.from_pylist([{**defaults, **row} for row in rows], schema=LOG_SEARCH_FILE)
        relative = f"log_search/{day:%Y%m%d}/{part}.parquet"
        self.raw.write_parquet(relative, table)
        return self.raw.describe(relative)

    def lake_rows(self, asset: str) -> int:
        return self.lake.dataset_of_folder(asset).count_rows()

    def resources(self) -> dict[str, object]:
        return build_resources(self.settings)


@pytest.fixture(params=["embedded", "production"])
def project(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Runs the test once on local files + DuckDB and once on S3 + MariaDB."""
    env = {"EXPORT_DIR": str(tmp_path / "exports"), "REPORT_DIR": str(tmp_path / "reports")}
    if request.param == "embedded":
        env |= {
            "RAW_DATA_URI": str(tmp_path / "raw"),
            "LAKE_URI": str(tmp_path / "lake"),
            "WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        }
    else:
        root = request.getfixturevalue("s3_root")
        warehouse = request.getfixturevalue("empty_mysql_url")
        env |= {
            "RAW_DATA_URI": f"{root}/raw",
            "LAKE_URI": f"{root}/lake",
            "WAREHOUSE_URL": warehouse,
        }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Project(root=tmp_path, settings=Settings.from_env())
