"""The subscribers the sample generators share: each one's contract, set-top boxes and how often
it watches. The viewing log draws its lines from them and the CRM extract its customers' contracts,
so that the two join."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from customer_analytics.lib.sample_files import ascii_column, digit_codes, normalized, rng_for

# Contract prefixes are province codes; the two big cities hold half of the subscribers.
PROVINCES: dict[str, float] = {
    "SGH": 0.27, "HNH": 0.25, "DNH": 0.05, "HPH": 0.05, "BDH": 0.05, "CTH": 0.04,
    "DNF": 0.04, "NAH": 0.04, "HUH": 0.03, "KHH": 0.03, "QNH": 0.03, "THH": 0.03,
    "BNH": 0.03, "VTH": 0.03, "LAH": 0.02, "AGH": 0.01,
}  # fmt: skip
# Six digits give each province a million contract numbers; a larger population would exhaust
# the largest province.
MAX_CONTRACTS = 3_000_000
# Vendor prefixes of the set-top boxes.
MAC_OUIS = ("0C96E6", "B046FC", "A4F4C2", "D46E0E", "3C1E04", "E0B94D", "F4F26D", "00E04C")
SECOND_BOX_SHARE = 0.12

# (share of contracts, beta a, beta b) of the daily probability of being active: most contracts
# watch a few days a month, regulars on more than half of the days, some boxes every day.
ACTIVITY_MIX = ((0.70, 1.0, 8.0), (0.25, 3.0, 2.0), (0.05, 50.0, 1.0))
# With ACTIVITY_MIX this population yields about 1.19 distinct contracts per daily line over 30
# days: 1.9 M contracts for the real 1.6 M lines a day.
CONTRACTS_PER_DAILY_LINE = 1.39


def default_contracts(lines_per_day: int) -> int:
    return max(1, round(lines_per_day * CONTRACTS_PER_DAILY_LINE))


@dataclass(frozen=True)
class Subscribers:
    """The population, fixed by the seed."""

    seed: int
    quoted: pa.LargeBinaryArray  # '"HNH579912"', ready to splice into a line
    macs: pa.LargeBinaryArray  # box b of contract i at 2 * i + b
    two_boxes: np.ndarray
    activity: np.ndarray  # probability of being active on a given day
    volume: np.ndarray  # relative number of lines on an active day

    def __len__(self) -> int:
        return len(self.activity)


def draw_subscribers(seed: int, size: int) -> tuple[Subscribers, np.random.Generator]:
    """The population of `size` subscribers, and the random stream it was drawn from, for a
    generator to draw more of each subscriber from."""
    if not 1 <= size <= MAX_CONTRACTS:
        raise ValueError(f"contracts must be between 1 and {MAX_CONTRACTS:,}, got {size:,}")
    rng = rng_for(seed, "contracts")

    province = rng.choice(len(PROVINCES), size=size, p=normalized(PROVINCES.values()))
    numbers = np.empty(size, dtype=np.int64)
    for p in range(len(PROVINCES)):
        members = np.flatnonzero(province == p)
        numbers[members] = rng.choice(1_000_000, size=len(members), replace=False)
    letters = np.frombuffer("".join(PROVINCES).encode(), dtype=np.uint8).reshape(-1, 3)
    quote = np.full((size, 1), ord('"'), dtype=np.uint8)
    quoted = np.hstack([quote, letters[province], digit_codes(numbers, 6), quote])

    ouis = np.frombuffer("".join(MAC_OUIS).encode(), dtype=np.uint8).reshape(-1, 6)
    oui = rng.integers(len(MAC_OUIS), size=2 * size)
    nic = rng.integers(1 << 24, size=2 * size)
    macs = np.hstack([ouis[oui], digit_codes(nic, 6, base=16)])

    shares, a, b = (np.array(column) for column in zip(*ACTIVITY_MIX, strict=True))
    group = rng.choice(len(ACTIVITY_MIX), size=size, p=shares)
    subscribers = Subscribers(
        seed=seed,
        quoted=ascii_column(quoted),
        macs=ascii_column(macs),
        two_boxes=rng.random(size) < SECOND_BOX_SHARE,
        activity=rng.beta(a[group], b[group]),
        volume=rng.lognormal(0.0, 0.75, size),
    )
    return subscribers, rng
