"""Running the transforms on an engine from a test: a day file or table in, Arrow tables out.

`parse_content_days` reads its day files through the engine, so a test writes the file first;
`parse_search_day` takes the conformed table. Both give queries, valid only while their
context is open: `parse_content` and `parse_search` fetch the parts a test asserts (each fetch
is a query, and a Spark query costs a fraction of a second), then close the day.

A Spark plan costs seconds to prepare whatever its size, so a module with many small cases
registers their day files at import (`ContentCases`) and parses them all at once, as a range of
days of their own, once per engine.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.defs.content.transforms import parse_content_days
from customer_analytics.defs.search.transforms import parse_search_day
from customer_analytics.engines.base import Engine, LakeFiles, ParsedPartition
from customer_analytics.engines.storage import Location

PARTS = ("valid", "quarantine")
QUARANTINE_ONLY = ("quarantine",)
VALID_ONLY = ("valid",)


class Parsed(NamedTuple):
    """The fetched parts of a parsed day; a part that was not asked for is None."""

    valid: pa.Table | None
    quarantine: pa.Table | None


def write_day_file(folder: Path, data: str | bytes, day: date) -> str:
    """Writes `data` (text as UTF-8, bytes as they are) as a day file directly in `folder`,
    under a name no earlier call used; returns that name."""
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{day:%Y%m%d}.json"
    copy = 1
    while (folder / relative).exists():
        copy += 1
        relative = f"{day:%Y%m%d}-{copy}.json"
    (folder / relative).write_bytes(data.encode() if isinstance(data, str) else data)
    return relative


@contextmanager
def content_day(
    engine: Engine, data: str | bytes, folder: Path, day: date
) -> Iterator[ParsedPartition]:
    """The day file of `data`, written under `folder`, parsed by the engine."""
    relative = write_day_file(folder, data, day)
    with parse_content_days(engine, Location(str(folder)), {day: relative}) as parsed:
        yield parsed


def fetched(engine: Engine, parsed: ParsedPartition, parts: Sequence[str] = PARTS) -> Parsed:
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"No such parts of a parsed day: {sorted(unknown)}")
    return Parsed(
        *(engine.fetch(getattr(parsed, part)) if part in parts else None for part in PARTS)
    )


def parse_content(
    engine: Engine, data: str | bytes, folder: Path, day: date, parts: Sequence[str] = PARTS
) -> Parsed:
    """Writes the day file, parses it once and fetches `parts`."""
    with content_day(engine, data, folder, day) as parsed:
        return fetched(engine, parsed, parts)


def parse_search(
    engine: Engine, events: pa.Table, day: date, parts: Sequence[str] = PARTS
) -> Parsed:
    """Parses a day of numbered search rows once and fetches `parts`."""
    with parse_search_day(engine, events, day) as parsed:
        return fetched(engine, parsed, parts)


# The day of the first registered case; each next case is the day after.
FIRST_CASE_DAY = date(2022, 1, 1)


@dataclass(frozen=True)
class ParsedCases:
    """The parts of every registered case, fetched once; a case's by its day file's text."""

    days: dict[str | bytes, date]
    every: Parsed

    def __getitem__(self, text: str | bytes) -> Parsed:
        day = self.day(text)
        return Parsed(*(part.filter(pc.equal(part["date"], day)) for part in self.every))

    def day(self, text: str | bytes) -> date:
        if text not in self.days:
            raise KeyError(f"not registered with ContentCases.add: {text!r}")
        return self.days[text]


class ContentCases:
    """Day files a test module registers at import, parsed on an engine all at once: each text
    is the file of a day of its own (`day`), and every part of the range is fetched once."""

    def __init__(self) -> None:
        self._days: dict[str | bytes, date] = {}

    def add(self, *texts: str | bytes) -> None:
        for text in texts:
            self._days.setdefault(text, FIRST_CASE_DAY + timedelta(days=len(self._days)))

    def parse(self, engine: Engine, folder: Path) -> ParsedCases:
        files = {day: write_day_file(folder, text, day) for text, day in self._days.items()}
        with parse_content_days(engine, Location(str(folder)), files) as parsed:
            return ParsedCases(dict(self._days), fetched(engine, parsed))


def lake_files(folder: Path, schema: pa.Schema, *relatives: str) -> LakeFiles:
    """Parquet files directly in `folder`, as the transforms get the lake."""
    return LakeFiles(Location(str(folder)), tuple(relatives), schema)
