"""Fixtures shared by the whole suite: a project laid out in a temporary folder."""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_analytics.definitions import build_resources
from customer_analytics.settings import Settings


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


SEARCH_SCHEMA = pa.schema(
    [
        (name, pa.string())
        for name in (
            "eventID",
            "datetime",
            "user_id",
            "keyword",
            "category",
            "proxy_isp",
            "platform",
            "networkType",
            "action",
        )
    ]
    + [("userPlansMap", pa.list_(pa.string()))]
)


@dataclass
class Project:
    """A landing zone, lake, warehouse and export folder under one temporary root."""

    root: Path
    settings: Settings

    @property
    def raw(self) -> Path:
        return Path(self.settings.raw_data_uri)

    def write_content_day(self, day: date, lines: list[str]) -> Path:
        path = self.raw / "log_content" / f"{day:%Y%m%d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines))
        return path

    def write_search_day(self, day: date, rows: list[dict], part: str = "part-00000") -> Path:
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
        table = pa.Table.from_pylist([{**defaults, **row} for row in rows], schema=SEARCH_SCHEMA)
        path = self.raw / "log_search" / f"{day:%Y%m%d}" / f"{part}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        return path

    def resources(self) -> dict[str, object]:
        return build_resources(self.settings)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    env = {
        "RAW_DATA_URI": str(tmp_path / "raw"),
        "LAKE_URI": str(tmp_path / "lake"),
        "WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        "EXPORT_DIR": str(tmp_path / "exports"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Project(root=tmp_path, settings=Settings.from_env())


@pytest.fixture
def instance() -> dg.DagsterInstance:
    with dg.instance_for_test() as test_instance:
        yield test_instance
