"""Both chains (`chain.py`) on the Spark engine of a session started as the project starts it
(settings from the environment: SPARK_MASTER_URL or SPARK_REMOTE), in a process of its own: what
`test_parity.py` runs on the loopback cluster, as its driver and as a Spark Connect client.

    python -m customer_analytics_tests.engines.chain_driver RAW LAKE CATEGORIES CONTENT_DAYS SEARCH_DAYS

The days are comma-separated ISO dates; CATEGORIES is a Parquet file of keyword_category. Prints
one line of JSON: the files of each chain's run, by output.
"""

import json
import sys
from datetime import date

import pyarrow.parquet as pq

from customer_analytics.definitions import compute_engine
from customer_analytics.engines.spark import SparkEngine
from customer_analytics.engines.storage import Location
from customer_analytics.settings import Settings
from customer_analytics_tests.engines.chain import run_content_chain, run_search_chain


def _days(text: str) -> list[date]:
    return [date.fromisoformat(day) for day in text.split(",")]


def main(raw: str, lake: str, categories: str, content_days: str, search_days: str) -> None:
    session = compute_engine(Settings.from_env()).spark.spark_session
    engine = SparkEngine(session)
    try:
        content = run_content_chain(engine, Location(raw), Location(lake), _days(content_days))
        search = run_search_chain(
            engine, Location(raw), Location(lake), _days(search_days), pq.read_table(categories)
        )
    finally:
        engine.close()
        session.stop()
    print(json.dumps({"content": content.files, "search": search.files}))


if __name__ == "__main__":
    main(*sys.argv[1:])
