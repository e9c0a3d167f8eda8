"""Both chains end to end on one engine, each output written to a lake folder as production
writes it: one Parquet file per day (or month) under `<asset>/<key>.parquet`."""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from customer_analytics.defs.content.assets import day_file
from customer_analytics.defs.content.schemas import CONTENT_QUARANTINE, RAW_LOG_CONTENT
from customer_analytics.defs.content.transforms import (
    customer_content_stats,
    daily_pivot,
    parse_content_days,
)
from customer_analytics.defs.search.landing import read_search_day
from customer_analytics.defs.search.schemas import (
    LOG_SEARCH_FILE,
    MONTHLY_TOP_KEYWORD,
    RAW_LOG_SEARCH,
    SEARCH_QUARANTINE,
)
from customer_analytics.defs.search.transforms import (
    customer_search_stats,
    monthly_top_keyword,
    parse_search_days,
)
from customer_analytics.engines.base import Engine, LakeFiles, partition_batches
from customer_analytics.engines.storage import Location
from customer_analytics.lib.landing import LandingZone
from customer_analytics.rules.tables import (
    CUSTOMER_CONTENT_STATS,
    CUSTOMER_SEARCH_STATS,
    DAILY_PIVOT,
)

# Every output of the two chains and the schema it is stored with.
OUTPUTS: dict[str, pa.Schema] = {
    "raw_log_content": RAW_LOG_CONTENT,
    "content_quarantine": CONTENT_QUARANTINE,
    "daily_pivot": DAILY_PIVOT,
    "customer_content_stats": CUSTOMER_CONTENT_STATS,
    "raw_log_search": RAW_LOG_SEARCH,
    "search_quarantine": SEARCH_QUARANTINE,
    "monthly_top_keyword": MONTHLY_TOP_KEYWORD,
    "customer_search_stats": CUSTOMER_SEARCH_STATS,
}


@dataclass
class ChainRun:
    """Where one engine wrote each output (files in key order) and how long each step took."""

    lake: Location
    files: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in OUTPUTS})
    seconds: dict[str, float] = field(default_factory=dict)

    def lake_files(self, asset: str, relatives: Sequence[str] | None = None) -> LakeFiles:
        chosen = self.files[asset] if relatives is None else relatives
        return LakeFiles(self.lake, tuple(chosen), OUTPUTS[asset])

    def read(self, asset: str) -> pa.Table:
        """Every file of an output, in key order, cast to its schema."""
        schema = OUTPUTS[asset]
        return pa.concat_tables(
            [self.lake.read_parquet(relative).cast(schema) for relative in self.files[asset]]
        )


def _write(run: ChainRun, engine: Engine, asset: str, keys: Sequence[str], query) -> None:
    """The query's rows of each key (its `date` as text) as that key's file."""
    files = {key: f"{asset}/{key}.parquet" for key in keys}
    engine.write(query, run.lake, files, "date")
    run.files[asset].extend(files.values())


def _month(day: date) -> date:
    return day.replace(day=1)


def _of_month(month: date, days: Sequence[date], files) -> list[str]:
    """The files (one per day, in the order of `days`) of the days of `month`."""
    return [relative for day, relative in zip(days, files, strict=True) if _month(day) == month]


def run_content_chain(
    engine: Engine, raw: Location, lake: Location, days: Sequence[date]
) -> ChainRun:
    """raw_log_content and content_quarantine per day, daily_pivot per day from that day's raw
    file, customer_content_stats per month over the month's pivots; the days in the batches
    the engine computes at once (`partition_batches`), as the assets run them."""
    run = ChainRun(lake)
    content_days = list(days)
    batches = partition_batches(engine, [day.isoformat() for day in content_days])

    started = time.perf_counter()
    for keys in batches:
        files = {day: day_file(day) for day in map(date.fromisoformat, keys)}
        with parse_content_days(engine, raw, files) as parsed:
            _write(run, engine, "raw_log_content", keys, parsed.valid)
            _write(run, engine, "content_quarantine", keys, parsed.quarantine)
    run.seconds["parse_content"] = time.perf_counter() - started

    started = time.perf_counter()
    for keys in batches:
        raw_files = [f"raw_log_content/{key}.parquet" for key in keys]
        _write(
            run,
            engine,
            "daily_pivot",
            keys,
            daily_pivot(run.lake_files("raw_log_content", raw_files)),
        )
    run.seconds["daily_pivot"] = time.perf_counter() - started

    started = time.perf_counter()
    months = sorted({_month(day) for day in content_days})
    for month in months:
        pivots = _of_month(month, content_days, run.files["daily_pivot"])
        query = customer_content_stats(run.lake_files("daily_pivot", pivots))
        _write(run, engine, "customer_content_stats", [month.isoformat()], query)
    run.seconds["customer_content_stats"] = time.perf_counter() - started
    return run


def run_search_chain(
    engine: Engine, raw: Location, lake: Location, days: Sequence[date], categories: pa.Table
) -> ChainRun:
    """raw_log_search and search_quarantine per day, monthly_top_keyword per month over the
    month's days, customer_search_stats of the last month against the one before (`days` must
    cover two months); `categories` (keyword, category) stands for keyword_category."""
    run = ChainRun(lake)
    landing = LandingZone(uri=raw.uri)
    search_days = list(days)

    started = time.perf_counter()
    columns = tuple(LOG_SEARCH_FILE.names)
    for day in search_days:
        events = read_search_day(landing, day, columns)
        with parse_search_days(engine, {day: events}) as parsed:
            _write(run, engine, "raw_log_search", [day.isoformat()], parsed.valid)
            _write(run, engine, "search_quarantine", [day.isoformat()], parsed.quarantine)
    run.seconds["parse_search"] = time.perf_counter() - started

    started = time.perf_counter()
    search_months = sorted({_month(day) for day in search_days})
    for month in search_months:
        of_month = _of_month(month, search_days, run.files["raw_log_search"])
        query = monthly_top_keyword(run.lake_files("raw_log_search", of_month))
        _write(run, engine, "monthly_top_keyword", [month.isoformat()], query)
    run.seconds["monthly_top_keyword"] = time.perf_counter() - started

    started = time.perf_counter()
    previous, month = search_months[-2:]
    query = customer_search_stats(
        run.lake_files("monthly_top_keyword"), categories, month, previous
    )
    _write(run, engine, "customer_search_stats", [month.isoformat()], query)
    run.seconds["customer_search_stats"] = time.perf_counter() - started
    return run
