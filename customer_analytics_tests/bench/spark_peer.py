"""The peer to beat: the month's profiles computed the way the original PySpark job did it.

Each day is read with `spark.read.json` and its schema inferred, pivoted by category, the days
are unioned, and the profile is computed and written as Parquet, in local mode on all cores.
Its rules are the original's, not the contract's (no trimming, no duplicate check), so its row
count differs slightly. Prints the row count as JSON.

    python -m customer_analytics_tests.bench.spark_peer OUT_FOLDER DAY_FILE...
"""

import json
import re
import sys
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from customer_analytics.defs.content.rules import APP_TO_CATEGORY
from customer_analytics.rules.viewing import CATEGORIES, MOST_WATCH_ORDER
from customer_analytics.settings import Settings


def _day(spark: SparkSession, path: str) -> DataFrame:
    day = re.search(r"(\d{8})\.json$", path).group(1)
    logs = spark.read.json(path).select("_source.*")
    categories = F.create_map(*(F.lit(x) for pair in APP_TO_CATEGORY.items() for x in pair))
    logs = (
        logs.withColumn("Type", categories[F.col("AppName")])
        .withColumn("TotalDuration", F.col("TotalDuration").try_cast("long"))
        .filter((F.col("Contract") != "0") & F.col("Type").isNotNull())
    )
    pivot = logs.groupBy("Contract").pivot("Type", list(CATEGORIES)).sum("TotalDuration")
    return pivot.withColumn("Date", F.to_date(F.lit(day), "yyyyMMdd"))


def main(out: str, files: list[str]) -> None:
    settings = Settings.from_env()
    spark = (
        SparkSession.builder.master("local[*]")
        .appName("customer_content_stats peer")
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    days = reduce(DataFrame.unionByName, (_day(spark, path) for path in files)).fillna(0)
    totals = [F.sum(category).alias(category) for category in CATEGORIES]
    profiles = days.groupBy("Contract").agg(*totals, F.countDistinct("Date").alias("Active"))
    largest = F.greatest(*(F.col(category) for category in CATEGORIES))
    most_watch = reduce(
        lambda column, category: column.when(F.col(category) == largest, category),
        MOST_WATCH_ORDER[1:],
        F.when(F.col(MOST_WATCH_ORDER[0]) == largest, MOST_WATCH_ORDER[0]),
    )
    taste = F.concat_ws(
        "-", *(F.when(F.col(category) > 0, F.lit(category)) for category in CATEGORIES)
    )
    profiles = profiles.withColumn("MostWatch", most_watch).withColumn("Taste", taste)
    profiles.write.mode("overwrite").parquet(out)
    rows = spark.read.parquet(out).count()
    spark.stop()
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
