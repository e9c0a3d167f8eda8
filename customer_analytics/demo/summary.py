"""What `make demo` prints once the assets are materialized: the profiles and where to look next."""

from datetime import date

import dagster as dg
import pandas as pd
import pyarrow.compute as pc
import sqlalchemy as sa

from customer_analytics.definitions import build_resources
from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics.lib.partitions import next_month
from customer_analytics.settings import Settings

CONTENT_MONTH = date(2022, 4, 1)
SEARCH_MONTHS = (date(2022, 6, 1), date(2022, 7, 1))


def _month(column: str, month: date) -> tuple[str, date, date]:
    return column, month, next_month(month)


def summary() -> None:
    settings = Settings.from_env()
    warehouse = connect_warehouse(settings.warehouse_url)
    pd.set_option("display.width", 160)

    stats = warehouse.read("customer_content_stats", _month("month", CONTENT_MONTH)).to_pandas()
    stats["Total"] = stats.filter(like="Total_").sum(axis=1)
    print(f"\ncustomer_content_stats {CONTENT_MONTH:%Y-%m}: {len(stats):,} contracts, top viewers:")
    print(stats.sort_values("Total", ascending=False).head(8).to_string(index=False))
    print("\nMostWatch:", stats["MostWatch"].value_counts(dropna=False).to_dict())

    quarantine = (
        build_resources(settings)["lake"]
        .location.dataset_of_folder("content_quarantine")
        .to_table(
            columns=["reason"],
            filter=(pc.field("date") >= CONTENT_MONTH)
            & (pc.field("date") < next_month(CONTENT_MONTH)),
        )
    )
    print("Quarantined lines:", quarantine.to_pandas()["reason"].value_counts().to_dict())

    for month in SEARCH_MONTHS:
        tastes = warehouse.read("customer_search_stats", _month("month", month)).to_pandas()
        print(
            f"\ncustomer_search_stats {month:%Y-%m}: {len(tastes):,} users, taste:",
            tastes["taste"].value_counts().to_dict(),
        )
    print(tastes.dropna().head(8).to_string(index=False))

    loyalty = warehouse.read("customer_loyalty", _month("month", CONTENT_MONTH)).to_pandas()
    print(
        f"\ncustomer_loyalty {CONTENT_MONTH:%Y-%m}: {len(loyalty):,} customers of the "
        "clickstream, by CRM tier:"
    )
    by_tier = loyalty.groupby(loyalty["loyalty_tier"].fillna("not in CRM")).agg(
        customers=("customer_id", "count"),
        loyalty_rate_pct=("loyalty_rate_pct", "mean"),
        engagement_per_session=("engagement_per_session", "mean"),
        rating=("rating", "mean"),
    )
    print(by_tier.round(2).to_string())

    warehouse_url = sa.make_url(settings.warehouse_url).render_as_string(hide_password=True)
    with dg.DagsterInstance.get() as instance:
        home = instance.root_directory
    print(
        f"""
Where to look next:
  warehouse    {warehouse_url}
  lake         {settings.lake_uri}
  CSV export   {settings.export_dir}/customer_content_stats/{CONTENT_MONTH}.csv
  analytics    {settings.report_dir}/{CONTENT_MONTH:%Y-%m}/index.html
  step logs    {home}/logs/demo/ (every run's full log is in the instance too)
  the UI       make dev, then {settings.dagster_ui_url} (asset graph, partitions, run logs)
"""
    )
