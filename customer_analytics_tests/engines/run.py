"""Running the transforms on an engine from a test: a day file or table in, Arrow tables out.

`parse_content_days` reads its day files through the engine, so a test writes the file first;
`parse_search_days` takes the conformed tables. Both give queries, valid only while their
context is open: `parse_content` and `parse_search` fetch the parts a test asserts (each fetch
is a query, and a Spark query costs a fraction of a second), then close the day.

A Spark plan costs seconds to prepare whatever its size, so a module with many small cases
registers them at import (`ContentCases`, `SearchCases`) and parses them all at once, as a
range of days of their own, once per engine.
"""

import json
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Generic, NamedTuple, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.defs.content.transforms import parse_content_days
from customer_analytics.defs.search.transforms import parse_search_days
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
    with parse_search_days(engine, {day: events}) as parsed:
        return fetched(engine, parsed, parts)


Case = TypeVar("Case", bound=Hashable)

# The day of the first registered case; each next case is the day after.
FIRST_CASE_DAY = date(2022, 1, 1)


@dataclass(frozen=True)
class ParsedCases(Generic[Case]):
    """The parts of every registered case, fetched once; a case's by its registered value."""

    days: dict[Case, date]
    every: Parsed

    def __getitem__(self, case: Case) -> Parsed:
        day = self.day(case)
        return Parsed(*(part.filter(pc.equal(part["date"], day)) for part in self.every))

    def day(self, case: Case) -> date:
        if case not in self.days:
            raise KeyError(f"not a registered case: {case!r}")
        return self.days[case]


class Cases(Generic[Case]):
    """Cases a test module registers at import, parsed on an engine all at once: each case is
    a day of its own (`ParsedCases.day`), and every part of the range is fetched once."""

    def __init__(self) -> None:
        self._days: dict[Case, date] = {}

    def add(self, *cases: Case) -> None:
        for case in cases:
            self._days.setdefault(case, FIRST_CASE_DAY + timedelta(days=len(self._days)))

    def registered(self, case_of: Callable[..., Case], params: list) -> list:
        """Registers the case `case_of(first value)` of each parameter set of a parametrize;
        the sets as they are."""

        def first(values):
            values = getattr(values, "values", values)  # a pytest.param's
            return values[0] if isinstance(values, tuple) else values

        self.add(*(case_of(first(values)) for values in params))
        return params

    def _parsed(self, engine: Engine, parsed: ParsedPartition) -> ParsedCases[Case]:
        return ParsedCases(dict(self._days), fetched(engine, parsed))


class ContentCases(Cases[str | bytes]):
    """Content cases: each the text of a day file."""

    def parse(self, engine: Engine, folder: Path) -> ParsedCases[str | bytes]:
        files = {day: write_day_file(folder, text, day) for text, day in self._days.items()}
        with parse_content_days(engine, Location(str(folder)), files) as parsed:
            return self._parsed(engine, parsed)


class SearchCases(Cases[str]):
    """Search cases: each the raw rows of a day (`to_events`) as JSON, so that it can be a key."""

    def __init__(self, to_events: Callable[..., pa.Table]) -> None:
        super().__init__()
        self._to_events = to_events

    def parse(self, engine: Engine) -> ParsedCases[str]:
        events = {day: self._to_events(*json.loads(rows)) for rows, day in self._days.items()}
        with parse_search_days(engine, events) as parsed:
            return self._parsed(engine, parsed)


def lake_files(folder: Path, schema: pa.Schema, *relatives: str) -> LakeFiles:
    """Parquet files directly in `folder`, as the transforms get the lake."""
    return LakeFiles(Location(str(folder)), tuple(relatives), schema)
