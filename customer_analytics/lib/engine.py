"""The engine the assets run their transforms on, chosen by COMPUTE_ENGINE.

Spark comes from dagster-pyspark's `LazyPySparkResource`: its session (and JVM) starts only
when a Spark run first needs it, so a DuckDB run never starts one.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_pyspark import LazyPySparkResource

from customer_analytics.engines.base import Engine
from customer_analytics.engines.duckdb import DuckDBEngine
from customer_analytics.settings import compute_engine

# The engine the assets' kinds name: fixed when the definitions load, as COMPUTE_ENGINE is.
ENGINE_KIND = compute_engine()


class ComputeEngine(dg.ConfigurableResource):
    """`duckdb` (in process) or `spark` (the session of `spark`)."""

    name: str = "duckdb"
    spark: LazyPySparkResource | None = None

    @contextmanager
    def open(self) -> Iterator[Engine]:
        """An engine for one step, closed (its views and tables dropped) at the end."""
        if self.name == "spark":
            from customer_analytics.engines.spark import SparkEngine

            if self.spark is None:
                raise dg.Failure("COMPUTE_ENGINE=spark, but no Spark session is configured")
            engine: Engine = SparkEngine(self.spark.spark_session)
        else:
            engine = DuckDBEngine()
        try:
            yield engine
        finally:
            engine.close()


def engine_metadata(engine: Engine) -> dict[str, str | int]:
    """What the UI shows of the engine that produced a materialization: its name, and the
    Spark jobs the step has run so far where Spark counts them."""
    jobs = engine.jobs()
    return {"engine": engine.name} | ({} if jobs is None else {"spark_jobs": jobs})
