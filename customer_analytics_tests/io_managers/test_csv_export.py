"""The CSV export the warehouse IO manager writes for spreadsheet users, on DuckDB and MySQL: a
contract that a spreadsheet would run as a formula is written with a single quote in front;
numbers and dates are written as they are, and the warehouse keeps the contract unchanged."""

import csv
import io
from datetime import date

import dagster as dg
import pyarrow as pa

from customer_analytics.io_managers.warehouse import EXPORT_CSV, connect_warehouse
from customer_analytics.lib.metadata import stored_table
from customer_analytics.lib.partitions import content_monthly
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS

APRIL = date(2022, 4, 1)
CALC = "=cmd|' /C calc'!A0"
SUM = "@SUM(1+1)*cmd|' /C calc'!A0"


def _profile(contract: str, active: int) -> dict:
    return {
        "month": APRIL,
        "Contract": contract,
        "Total_Giai_Tri": 0,
        "Total_Phim_Truyen": 7,
        "Total_The_Thao": 0,
        "Total_Thieu_Nhi": 0,
        "Total_Truyen_Hinh": 0,
        "Active": active,
        "MostWatch": "Phim Truyen",
        "Taste": "Phim Truyen",
    }


@dg.asset(
    partitions_def=content_monthly,
    io_manager_key="warehouse_io_manager",
    metadata={**stored_table(CUSTOMER_CONTENT_STATS, "month"), EXPORT_CSV: True},
)
def hostile_profiles() -> pa.Table:
    """Stored and exported as customer_content_stats is."""
    rows = [_profile(CALC, 3), _profile(SUM, 1), _profile("-HNH1", 12), _profile("HNH2", 31)]
    return pa.Table.from_pylist(rows, schema=CUSTOMER_CONTENT_STATS)


def test_formula_contracts_are_exported_as_text_and_stored_unchanged(project, instance):
    result = dg.materialize(
        [hostile_profiles],
        resources=project.resources(),
        instance=instance,
        partition_key="2022-04-01",
    )
    assert result.success

    exported = (project.root / "exports" / "hostile_profiles" / "2022-04-01.csv").read_text()
    assert exported == (
        '"month","Contract","Total_Giai_Tri","Total_Phim_Truyen","Total_The_Thao",'
        '"Total_Thieu_Nhi","Total_Truyen_Hinh","Active","MostWatch","Taste"\n'
        '2022-04-01,"\'=cmd|\' /C calc\'!A0",0,7,0,0,0,3,"Phim Truyen","Phim Truyen"\n'
        '2022-04-01,"\'@SUM(1+1)*cmd|\' /C calc\'!A0",0,7,0,0,0,1,"Phim Truyen","Phim Truyen"\n'
        '2022-04-01,"\'-HNH1",0,7,0,0,0,12,"Phim Truyen","Phim Truyen"\n'
        '2022-04-01,"HNH2",0,7,0,0,0,31,"Phim Truyen","Phim Truyen"\n'
    )
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(row["Contract"], row["Active"]) for row in rows] == [
        ("'=cmd|' /C calc'!A0", "3"),
        ("'@SUM(1+1)*cmd|' /C calc'!A0", "1"),
        ("'-HNH1", "12"),
        ("HNH2", "31"),
    ]
    # Only the copy for people changes: the warehouse holds the contracts as they came.
    stored = connect_warehouse(project.settings.warehouse_url).read("hostile_profiles", None)
    assert sorted(stored["Contract"].to_pylist()) == sorted([CALC, SUM, "-HNH1", "HNH2"])
