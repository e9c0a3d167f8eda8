"""log_content: one file of Elasticsearch hits per day, as the viewing-history export writes it.

Lines are assembled column-wise with Arrow string kernels: every field becomes an array of byte
strings, the few dirty lines are patched in place, and one element-wise join yields the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.lib.sample_files import (
    DayFile,
    ascii_column,
    normalized,
    rng_for,
    write_atomically,
)
from customer_analytics.lib.subscribers import Subscribers, draw_subscribers

# AppName -> (share of lines, median TotalDuration in seconds). Live TV and films dominate.
APPS: dict[str, tuple[float, int]] = {
    "CHANNEL": (0.40, 1500),
    "KPLUS": (0.12, 1200),
    "VOD": (0.18, 1100),
    "DSHD": (0.03, 900),
    "FIMS": (0.05, 1300),
    "BHD": (0.03, 1300),
    "DANET": (0.02, 1000),
    "FIMS_RES": (0.02, 1300),
    "BHD_RES": (0.015, 1300),
    "VOD_RES": (0.02, 1100),
    "RELAX": (0.03, 300),
    "CHILD": (0.06, 900),
    "SPORT": (0.035, 1800),
}
UNKNOWN_APPS = ("YOUTUBE", "NETFLIX", "TIKTOK", "KARAOKE", "BROWSER")
ALL_APPS = (*APPS, *UNKNOWN_APPS)
# Log-normal spread of durations: from a few seconds to hours, a few lines above a day.
DURATION_SIGMA = 1.5
# How the export spells some apps when it does not upper-case them.
_BRAND_SPELLING = {"KPLUS": "KPlus"}

# Share of a contract's lines that go to its second favourite app (the first gets its loyalty).
SECOND_APP_SHARE = 0.2

ES_ID_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)


class Dirt(NamedTuple):
    rate: float  # share of a day's lines
    reason: str | None  # the docs/contract.md §3 quarantine reason; None when the line is valid


# Every line carries at most one kind of dirt, so each quarantined line has one obvious reason.
DIRT: dict[str, Dirt] = {
    "malformed_json": Dirt(0.0005, "malformed_json"),  # a line cut short
    "missing_source": Dirt(0.0005, "missing_source"),
    "null_contract": Dirt(0.0008, "invalid_contract"),
    "zero_contract": Dirt(0.0008, "invalid_contract"),  # "0"
    "empty_contract": Dirt(0.0008, "invalid_contract"),  # "" or only spaces
    "null_text_contract": Dirt(0.0008, "invalid_contract"),  # "NULL", "null", "Null"
    "padded_contract": Dirt(0.0008, None),  # " HNH579912 "
    "ip_contract": Dirt(0.0008, None),  # "113.161.12.4"
    "invalid_duration": Dirt(0.0015, "invalid_duration"),  # -254, "abc", 12.5, null
    "duration_string": Dirt(0.0015, None),  # "254"
    "unknown_app": Dirt(0.0018, "unknown_app"),  # "YOUTUBE"
    "app_case_variant": Dirt(0.0020, None),  # "KPlus", " vod "
    "duplicate_id": Dirt(0.0010, "duplicate_id"),  # an exact repeat of an earlier line
}

_EMPTY_CONTRACTS = (b'""', b'" "', b'"   "')
_NULL_TEXTS = (b'"NULL"', b'"null"', b'"Null"')
_PADDINGS = (b'" %s "', b'" %s"', b'"%s  "')
# First octets of Vietnamese ISP address blocks, for contracts that hold an IP address.
_IP_FIRST_OCTETS = (1, 14, 27, 42, 58, 113, 115, 116, 117, 171, 183)


_APP_SHARES = normalized(share for share, _ in APPS.values())
_APP_MEDIANS = np.array([median for _, median in APPS.values()], dtype=float)
_TYPES = [name.lower() for name in ALL_APPS]


def dirt_counts(lines: int) -> dict[str, int]:
    """How many lines of a day of `lines` lines carry each kind of dirt."""
    return {kind: round(dirt.rate * lines) for kind, dirt in DIRT.items()}


def content_path(out: Path, day: date) -> Path:
    return out / "log_content" / f"{day:%Y%m%d}.json"


@dataclass(frozen=True)
class Contracts(Subscribers):
    """The subscriber population, fixed by the seed, that every content day draws from, and
    what each of them watches."""

    favourite_apps: np.ndarray  # (n, 2) indices into APPS
    loyalty: np.ndarray  # share of lines that go to the first favourite app

    @classmethod
    def build(cls, seed: int, size: int) -> Contracts:
        subscribers, rng = draw_subscribers(seed, size)
        return cls(
            **vars(subscribers),
            favourite_apps=rng.choice(len(APPS), size=(size, 2), p=_APP_SHARES),
            loyalty=rng.beta(4.0, 2.0, size),
        )


class _Views(NamedTuple):
    """One viewing record per line, as parallel arrays."""

    contract: np.ndarray
    app: np.ndarray  # index into ALL_APPS
    box: np.ndarray  # 0 or 1
    duration: np.ndarray
    es_id: np.ndarray  # (n, 20) ASCII codes

    def take(self, index: np.ndarray) -> _Views:
        return _Views(*(column[index] for column in self))


def generate_content_day(out: Path, day: date, contracts: Contracts, *, lines: int) -> DayFile:
    """Write `log_content/YYYYMMDD.json` with exactly `lines` lines."""
    data = render_content_day(day, contracts, lines)
    offsets = np.frombuffer(data.buffers()[1], dtype=np.int64)
    body = memoryview(data.buffers()[2])[offsets[data.offset] : offsets[data.offset + len(data)]]
    path = content_path(out, day)
    write_atomically(path, lambda f: f.write(body))
    return DayFile(path, len(data))


def render_content_day(day: date, contracts: Contracts, lines: int) -> pa.LargeBinaryArray:
    """The day's lines, each ending in a newline, in file order."""
    rng = rng_for(contracts.seed, "content_day", day)
    counts = dirt_counts(lines)
    base = _viewing(rng, contracts, lines - counts["duplicate_id"])
    rows = _pick_rows(rng, counts, len(base.app))
    base.app[rows["unknown_app"]] = len(APPS) + rng.integers(
        len(UNKNOWN_APPS), size=len(rows["unknown_app"])
    )
    order, at = _file_order(rng, base.app, rows)
    views = base.take(order)

    contract = contracts.quoted.take(pa.array(views.contract))
    duration = pc.cast(pc.cast(pa.array(views.duration), pa.large_string()), pa.large_binary())
    app = pa.array(views.app)
    line = pc.binary_join_element_wise(
        _literal('{"_index":"history","_type":"'),
        _byte_strings(_TYPES).take(app),
        _literal('","_id":"'),
        ascii_column(views.es_id),
        _literal('","_score":0,"_source":{"Contract":'),
        _patch(contract, *_contract_dirt(rng, at, contract)),
        _literal(',"Mac":"'),
        contracts.macs.take(pa.array(2 * views.contract + views.box)),
        _literal('","TotalDuration":'),
        _patch(duration, *_duration_dirt(at, views.duration)),
        _literal(',"AppName":'),
        _patch(_byte_strings(f'"{name}"' for name in ALL_APPS).take(app), _app_dirt(at, views)),
        _literal("}}\n"),
        _literal(""),
    )
    return _patch(line, *_line_dirt(rng, at, line))


def _viewing(rng: np.random.Generator, contracts: Contracts, n: int) -> _Views:
    """n clean records: each active contract gets a line, heavy viewers a few more."""
    active = np.flatnonzero(rng.random(len(contracts)) < contracts.activity)
    if active.size > n:
        active = rng.choice(active, size=n, replace=False)
    elif active.size == 0:  # a tiny population can be all idle; a day still needs a viewer
        active = rng.integers(len(contracts), size=1)
    volume = contracts.volume[active]
    more = rng.choice(active, size=n - active.size, p=volume / volume.sum())
    contract = np.concatenate([active, more])

    first, second = contracts.favourite_apps[contract].T
    loyalty = contracts.loyalty[contract]
    u = rng.random(n)
    anything = rng.choice(len(APPS), size=n, p=_APP_SHARES)
    app = np.where(u < loyalty, first, np.where(u < loyalty + SECOND_APP_SHARE, second, anything))

    spread = np.exp(DURATION_SIGMA * rng.standard_normal(n))
    # Elasticsearch's auto-generated ids start with a time prefix, "AX" throughout 2022.
    es_id = np.hstack(
        [np.full((n, 2), list(b"AX"), dtype=np.uint8), rng.choice(ES_ID_ALPHABET, size=(n, 18))]
    )
    return _Views(
        contract=contract,
        app=app,
        box=(contracts.two_boxes[contract] & (rng.random(n) < 0.5)).astype(np.int64),
        duration=np.floor(_APP_MEDIANS[app] * spread).astype(np.int64),
        es_id=es_id,
    )


def _pick_rows(rng: np.random.Generator, counts: dict[str, int], n: int) -> dict[str, np.ndarray]:
    """Distinct records for each kind of dirt; for duplicate_id, the clean records to repeat."""
    picked = rng.permutation(n)[: sum(counts.values())]
    parts = np.split(picked, np.cumsum(list(counts.values()))[:-1])
    return dict(zip(counts, parts, strict=True))


def _file_order(
    rng: np.random.Generator, app: np.ndarray, rows: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The record behind each line of the file, and the line numbers of each kind of dirt.

    An export per _type: lines come in blocks by _type, in random order inside a block. A
    duplicate repeats a record later in the same block.
    """
    repeated = rows["duplicate_id"]
    record = np.concatenate([np.arange(len(app)), repeated])
    position = rng.random(len(app))
    after = position[repeated]
    position = np.concatenate([position, after + (1 - after) * rng.random(len(repeated))])
    block = np.argsort(np.argsort(_TYPES))[app[record]]  # blocks in alphabetical _type order
    order = np.lexsort((position, block))
    line_of = np.empty(len(order), dtype=np.int64)
    line_of[order] = np.arange(len(order))
    at = {kind: line_of[r] for kind, r in rows.items() if kind != "duplicate_id"}
    return record[order], at


Patch = tuple[np.ndarray, list[bytes]]  # line numbers and the values to put there


def _contract_dirt(
    rng: np.random.Generator, at: dict[str, np.ndarray], contract: pa.Array
) -> tuple[Patch, ...]:
    ip = at["ip_contract"]
    octets = rng.integers(0, 256, size=(len(ip), 3))
    first = rng.choice(_IP_FIRST_OCTETS, size=len(ip))
    padded = contract.take(pa.array(at["padded_contract"])).to_pylist()
    return (
        (at["null_contract"], [b"null"] * len(at["null_contract"])),
        (at["zero_contract"], [b'"0"'] * len(at["zero_contract"])),
        (at["empty_contract"], _cycle(_EMPTY_CONTRACTS, len(at["empty_contract"]))),
        (at["null_text_contract"], _cycle(_NULL_TEXTS, len(at["null_text_contract"]))),
        (at["padded_contract"], [_PADDINGS[i % 3] % c[1:-1] for i, c in enumerate(padded)]),
        (ip, [b'"%d.%d.%d.%d"' % (f, *o) for f, o in zip(first, octets, strict=True)]),
    )


def _duration_dirt(at: dict[str, np.ndarray], duration: np.ndarray) -> tuple[Patch, Patch]:
    as_text = at["duration_string"]
    bad = at["invalid_duration"]
    return (
        (as_text, [b'"%d"' % d for d in duration[as_text]]),
        (bad, [_bad_duration(i, d) for i, d in enumerate(duration[bad])]),
    )


def _bad_duration(k: int, seconds: int) -> bytes:
    return (b"-%d" % (seconds + 1), b'"abc"', b"%d.5" % seconds, b"null")[k % 4]


def _app_dirt(at: dict[str, np.ndarray], views: _Views) -> Patch:
    rows = at["app_case_variant"]
    names = [ALL_APPS[a] for a in views.app[rows]]
    return rows, [b'"%s"' % _case_variant(name, i).encode() for i, name in enumerate(names)]


def _case_variant(app: str, k: int) -> str:
    """A spelling that still matches `app` after trimming and upper-casing."""
    brand = _BRAND_SPELLING.get(app, app.capitalize())
    variants = (app.lower(), brand, f" {app.lower()} ", f"{app} ")
    return variants[k % len(variants)]


def _line_dirt(
    rng: np.random.Generator, at: dict[str, np.ndarray], line: pa.Array
) -> tuple[Patch, Patch]:
    unsourced = at["missing_source"]
    cut = at["malformed_json"]
    without = [text.split(b',"_source"')[0] + b"}\n" for text in _lines(line, unsourced)]
    # Cutting at least the closing brace off leaves no valid JSON object behind.
    truncated = [text[: rng.integers(20, len(text) - 1)] + b"\n" for text in _lines(line, cut)]
    return (unsourced, without), (cut, truncated)


def _lines(line: pa.Array, rows: np.ndarray) -> list[bytes]:
    return line.take(pa.array(rows, type=pa.int64())).to_pylist()


def _patch(column: pa.Array, *patches: Patch) -> pa.Array:
    """`column` with the values of each patch put at its line numbers."""
    rows = np.concatenate([r for r, _ in patches])
    if rows.size == 0:
        return column
    values = [value for _, vs in patches for value in vs]
    mask = np.zeros(len(column), dtype=bool)
    mask[rows] = True
    # replace_with_mask consumes the replacements in line order.
    in_order = [values[i] for i in np.argsort(rows)]
    return pc.replace_with_mask(column, pa.array(mask), pa.array(in_order, type=column.type))


def _cycle(options: tuple[bytes, ...], n: int) -> list[bytes]:
    return [options[i % len(options)] for i in range(n)]


def _byte_strings(texts) -> pa.LargeBinaryArray:
    return pa.array([text.encode() for text in texts], type=pa.large_binary())


def _literal(text: str) -> pa.Scalar:
    return pa.scalar(text.encode(), type=pa.large_binary())
