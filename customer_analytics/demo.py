"""What `make demo` prints once the assets are materialized: the profiles and where to look next."""

import argparse
from datetime import date

import pyarrow.compute as pc

from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics.lib.partitions import next_month
from customer_analytics.lib.storage import Location
from customer_analytics.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--month", type=date.fromisoformat, default=date(2022, 4, 1))
    month = parser.parse_args(argv).month
    settings = Settings.from_env()

    stats = connect_warehouse(settings.warehouse_url).read(
        "customer_content_stats", ("month", month, next_month(month))
    )
    quarantine = (
        Location(settings.lake_uri)
        .dataset_of_folder("content_quarantine")
        .to_table(
            columns=["date", "reason"],
            filter=(pc.field("date") >= month) & (pc.field("date") < next_month(month)),
        )
    )
    frame = stats.to_pandas()
    frame["Total"] = frame.filter(like="Total_").sum(axis=1)

    print(f"\ncustomer_content_stats {month:%Y-%m}: {len(frame):,} contracts\n")
    print(frame.sort_values("Total", ascending=False).head(10).to_string(index=False))
    print("\nMostWatch:")
    print(frame["MostWatch"].value_counts(dropna=False).to_string())
    print(f"\nQuarantined lines in {month:%Y-%m}:")
    print(quarantine.to_pandas()["reason"].value_counts().to_string())
    print(
        f"""
Where to look next:
  warehouse    {settings.warehouse_url}
  lake         {settings.lake_uri}
  CSV export   {settings.export_dir}/customer_content_stats/{month}.csv
  the UI       make dev, then http://127.0.0.1:3000 (asset graph, partitions, run logs)
"""
    )


if __name__ == "__main__":
    main()
