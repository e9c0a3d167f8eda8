"""Seeding, vectorized ASCII columns and atomic writes shared by the content and search logs."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np
import pyarrow as pa

# Each kind of randomness has its own stream, so that e.g. changing the number of search users
# leaves the content files untouched, and any single day can be regenerated on its own.
_STREAMS = {"contracts": 1, "content_day": 2, "search_users": 3, "search_day": 4}

HEX_DIGITS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


class DayFile(NamedTuple):
    path: Path
    rows: int


def rng_for(seed: int, stream: str, day: date | None = None) -> np.random.Generator:
    key = [seed, _STREAMS[stream]]
    if day is not None:
        key.append(day.toordinal())
    return np.random.default_rng(key)


def ascii_column(codes: np.ndarray) -> pa.LargeBinaryArray:
    """An (n, width) uint8 matrix of ASCII codes as an Arrow array of n byte strings."""
    n, width = codes.shape
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), n, [None, pa.py_buffer(np.ascontiguousarray(codes, dtype=np.uint8))]
    )
    return fixed.cast(pa.large_binary())


def digit_codes(values: np.ndarray, width: int, base: int = 10) -> np.ndarray:
    """Zero-padded digits of non-negative integers as an (n, width) matrix of ASCII codes."""
    codes = np.empty((len(values), width), dtype=np.uint8)
    rest = np.asarray(values, dtype=np.int64)
    for position in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, base)
        codes[:, position] = HEX_DIGITS[digit]
    return codes


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write through a hidden temporary file, so a reader or sensor never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def normalized(weights) -> np.ndarray:
    """Weights scaled to sum to 1, as probabilities."""
    weights = np.fromiter(weights, dtype=float)
    return weights / weights.sum()
