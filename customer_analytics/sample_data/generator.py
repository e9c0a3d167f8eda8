"""Writes the landing zone of docs/contract.md §2: content days from a start date, the fixed search days."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from customer_analytics.defs.content.sample_data import Contracts, generate_content_day
from customer_analytics.defs.search.sample_data import SEARCH_DAYS, SearchUsers, generate_search_day
from customer_analytics.lib.sample_files import DayFile
from customer_analytics.lib.subscribers import default_contracts


@dataclass(frozen=True)
class Summary:
    content_files: int = 0
    content_lines: int = 0
    search_files: int = 0
    search_rows: int = 0


def generate(
    out: Path,
    *,
    seed: int = 42,
    content_start: date = date(2022, 4, 1),
    content_days: int = 30,
    lines_per_day: int = 5000,
    contracts: int | None = None,
    search_users: int = 2000,
    searches_per_day: int = 3000,
    content: bool = True,
    search: bool = True,
    verbose: bool = True,
) -> Summary:
    """Generate the sample landing zone under `out`; the same arguments give the same bytes."""
    out = Path(out)
    content_files: list[DayFile] = []
    search_files: list[DayFile] = []
    if content:
        population = Contracts.build(seed, contracts or default_contracts(lines_per_day))
        content_files = [
            _timed(out, verbose, generate_content_day, day, population, lines=lines_per_day)
            for day in (content_start + timedelta(days=i) for i in range(content_days))
        ]
    if search:
        users = SearchUsers.build(seed, search_users)
        search_files = [
            _timed(out, verbose, generate_search_day, day, users, rows=searches_per_day)
            for day in SEARCH_DAYS
        ]
    return Summary(
        content_files=len(content_files),
        content_lines=sum(f.rows for f in content_files),
        search_files=len(search_files),
        search_rows=sum(f.rows for f in search_files),
    )


def _timed(out: Path, verbose: bool, write, *args, **kwargs) -> DayFile:
    started = time.perf_counter()
    written = write(out, *args, **kwargs)
    if verbose:
        elapsed = time.perf_counter() - started
        name = written.path.relative_to(out)
        print(f"{name}  {written.rows:,} rows  {elapsed:.1f}s", file=sys.stderr)
    return written
