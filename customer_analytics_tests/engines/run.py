"""Running the transforms on an engine from a test: a day file or table in, Arrow tables out.

`parse_content_days` reads its day files through the engine, so a test writes the file first;
`parse_search_day` takes the conformed table. Both give queries, valid only while their
context is open: `parse_content` and `parse_search` fetch the parts a test asserts (each fetch
is a query, and a Spark query costs a fraction of a second), then close the day.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

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


def lake_files(folder: Path, schema: pa.Schema, *relatives: str) -> LakeFiles:
    """Parquet files directly in `folder`, as the transforms get the lake."""
    return LakeFiles(Location(str(folder)), tuple(relatives), schema)
