"""log_search: one Parquet file per day of what users typed into the search box."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from customer_analytics.defs.search.rules import VOICE_SEARCH_PLACEHOLDER
from customer_analytics.defs.search.sample_spelling import STYLES, spell
from customer_analytics.defs.search.sample_titles import GENRES, SEARCH_TITLES
from customer_analytics.defs.search.schemas import LOG_SEARCH_FILE
from customer_analytics.lib.sample_files import DayFile, normalized, rng_for, write_atomically

# The days the real export covers (docs/contract.md §2), whatever content days are generated.
SEARCH_DAYS = tuple(date(2022, month, day) for month in (6, 7) for day in range(1, 15))
_MONTH_SLOT = {(2022, 6): 0, (2022, 7): 1}

SEARCH_SCHEMA = LOG_SEARCH_FILE

# Preferred genre -> share of users.
GENRE_SHARES: dict[str, float] = {
    "Drama": 0.12, "K Drama": 0.12, "C Drama": 0.12, "Action": 0.09, "Sports": 0.09,
    "Animation": 0.08, "Comedy": 0.07, "Romance": 0.06, "Music": 0.06, "Horror": 0.05,
    "Reality Show": 0.05, "TV Channel": 0.05, "News": 0.02, "Other": 0.02,
}  # fmt: skip
# Users searching in June and July, in June only (they churn) and in July only (they are new).
SEGMENT_SHARES = (0.70, 0.15, 0.15)
# Users whose preferred genre changes from June to July.
TASTE_CHANGE_SHARE = 0.4
# Users whose id is another user's id with leading zeros ("0014111" next to "14111"), and users
# whose id is written with leading zeros to eight digits.
ZERO_TWIN_SHARE = 0.03
ZERO_PADDED_SHARE = 0.02

ISPS: dict[str, float] = {"viettel": 0.35, "vnpt": 0.30, "fpt": 0.25, "mobifone": 0.05, "cmc": 0.05}
# Platform -> (share of users, the network used when not on wifi).
PLATFORMS: dict[str, tuple[float, str]] = {
    "fplay-android": (0.28, "4G"),
    "fplay-ios": (0.14, "4G"),
    "smarttv-samsung": (0.15, "ethernet"),
    "smarttv-lg": (0.10, "ethernet"),
    "smarttv-sony": (0.08, "ethernet"),
    "smarttv-tcl": (0.05, "ethernet"),
    "web-playfpt": (0.12, "ethernet"),
    "box-iptv": (0.08, "ethernet"),
}
WIFI_SHARE = 0.7
PLANS = ("Gói Cơ Bản", "Gói MAX", "Gói VIP", "Gói K+", "Gói Thể Thao", "Gói Thiếu Nhi")
PLAN_COUNT_SHARES = (0.30, 0.45, 0.20, 0.05)  # users holding 0, 1, 2, 3 plans

# A search goes to one of the user's two favourite titles of the month, to another title of the
# preferred genre, or to anything popular.
FAVOURITE_SHARE = 0.55
SECOND_FAVOURITE_SHARE = 0.3  # of the searches for a favourite
GENRE_SHARE = 0.25
HABIT_SHARE = 0.6  # searches typed in the user's habitual spelling style
EPISODE_SHARE = 0.35  # searches for a series that name an episode
NULL_KEYWORD_SHARE = 0.01
VOICE_SEARCH_SHARE = 0.02
BLANK_KEYWORD_SHARE = 0.005
MISSING_USER_SHARE = 0.005
DUPLICATE_EVENT_SHARE = 0.005
ENTER_SHARE = 0.78
ACTIONS: dict[str, float] = {
    "search": 0.97, "play": 0.015, "click": 0.008, "suggest": 0.004, "Search": 0.003,
}  # fmt: skip
# Searches per hour of the day: quiet at night, busiest in the evening.
HOUR_WEIGHTS = (
    2, 1, 1, 0.5, 0.5, 1, 2, 3, 4, 4, 4, 5, 6, 5, 4, 4, 5, 6, 8, 10, 11, 10, 8, 5,
)  # fmt: skip


def _titles_by_genre() -> list[tuple[np.ndarray, np.ndarray]]:
    """Per genre, its title indices and their popularity: Zipf-like in lexicon order."""
    by_genre = []
    for genre in GENRES:
        titles = np.array([i for i, t in enumerate(SEARCH_TITLES) if t.genre == genre])
        by_genre.append((titles, normalized(1 / (1 + np.arange(len(titles))) ** 0.9)))
    return by_genre


def _title_shares() -> np.ndarray:
    """Share of all searches that each title gets from users at large."""
    shares = np.zeros(len(SEARCH_TITLES))
    for genre_share, (titles, weights) in zip(_GENRE_SHARES, _GENRE_TITLES, strict=True):
        shares[titles] = genre_share * weights
    return shares


_GENRE_TITLES = _titles_by_genre()
_GENRE_SHARES = normalized(GENRE_SHARES[genre] for genre in GENRES)
_TITLE_SHARES = _title_shares()
_EPISODIC = np.array([title.episodic for title in SEARCH_TITLES])
_STYLE_NAMES = tuple(STYLES)
_STYLE_SHARES = normalized(STYLES.values())
_PLATFORM_NAMES = np.array(list(PLATFORMS), dtype=object)
_OTHER_NETWORK = np.array([network for _, network in PLATFORMS.values()], dtype=object)


def search_path(out: Path, day: date) -> Path:
    return out / "log_search" / f"{day:%Y%m%d}" / "part-00000.parquet"


@dataclass(frozen=True)
class SearchUsers:
    """The searching users, fixed by the seed, that every search day draws from."""

    seed: int
    ids: np.ndarray  # numeric strings, leading zeros included
    months: np.ndarray  # (n, 2): searches in June, in July
    genre: np.ndarray  # (n, 2): preferred genre per month, index into GENRES
    favourites: np.ndarray  # (n, 2, 2): two favourite titles per month
    style: np.ndarray  # habitual spelling style, index into STYLES
    activity: np.ndarray
    isp: np.ndarray  # ISP name per user
    platform: np.ndarray  # index into PLATFORMS
    plans: np.ndarray  # list of plan names per user

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, seed: int, size: int) -> SearchUsers:
        if size < 1:
            raise ValueError(f"search users must be at least 1, got {size}")
        rng = rng_for(seed, "search_users")
        segment = rng.choice(3, size=size, p=SEGMENT_SHARES)
        segment[0] = 0  # so that no month is ever without users, however few they are
        months = np.column_stack([segment != 2, segment != 1])

        june = rng.choice(len(GENRES), size=size, p=_GENRE_SHARES)
        july = rng.choice(len(GENRES), size=size, p=_GENRE_SHARES)
        changes = rng.random(size) < TASTE_CHANGE_SHARE
        same = changes & (july == june)
        july[same] = (june[same] + rng.integers(1, len(GENRES), size=same.sum())) % len(GENRES)
        genre = np.column_stack([june, np.where(changes, july, june)])

        favourites = np.empty((size, 2, 2), dtype=np.int64)
        for month in range(2):
            for g, (titles, weights) in enumerate(_GENRE_TITLES):
                members = np.flatnonzero(genre[:, month] == g)
                favourites[members, month] = rng.choice(titles, size=(len(members), 2), p=weights)
        # A taste that does not change keeps its favourites.
        favourites[~changes, 1] = favourites[~changes, 0]

        plans = np.empty(size, dtype=object)
        for i, count in enumerate(rng.choice(len(PLAN_COUNT_SHARES), size, p=PLAN_COUNT_SHARES)):
            plans[i] = sorted(rng.choice(PLANS, size=count, replace=False).tolist())
        return cls(
            seed=seed,
            ids=_user_ids(rng, months),
            months=months,
            genre=genre,
            favourites=favourites,
            style=rng.choice(len(STYLES), size=size, p=_STYLE_SHARES),
            activity=rng.lognormal(0.0, 1.0, size),
            isp=rng.choice(
                np.array(list(ISPS), dtype=object), size=size, p=normalized(ISPS.values())
            ),
            platform=rng.choice(
                len(PLATFORMS), size=size, p=normalized(s for s, _ in PLATFORMS.values())
            ),
            plans=plans,
        )


def _user_ids(rng: np.random.Generator, months: np.ndarray) -> np.ndarray:
    """Distinct numeric strings of 4 to 8 digits, some with leading zeros."""
    size = len(months)
    numbers = np.empty(0, dtype=np.int64)
    while len(numbers) < size:
        drawn = (10 ** rng.uniform(3, 8, size)).astype(np.int64)
        numbers = np.unique(np.concatenate([numbers, drawn]))
    numbers = rng.permutation(numbers)[:size]
    ids = np.array([str(n) for n in numbers], dtype=object)

    # Twins search in both months so that both ids show up side by side.
    both = rng.permutation(np.flatnonzero(months.all(axis=1)))
    twins = min(max(1, round(ZERO_TWIN_SHARE * size)), len(both) // 2)
    original, twin = both[:twins], both[twins : 2 * twins]
    zeros = rng.integers(1, 3, size=twins)
    ids[twin] = ["0" * z + i for z, i in zip(zeros, ids[original], strict=True)]
    padded = rng.permutation(np.setdiff1d(np.arange(size), both[: 2 * twins]))
    padded = padded[: round(ZERO_PADDED_SHARE * size)]
    ids[padded] = [f"{n:08d}" for n in numbers[padded]]
    return ids


def generate_search_day(out: Path, day: date, users: SearchUsers, *, rows: int) -> DayFile:
    """Write `log_search/YYYYMMDD/part-00000.parquet` with exactly `rows` rows."""
    table = search_day_table(day, users, rows)
    path = search_path(out, day)
    write_atomically(path, lambda f: pq.write_table(table, f))
    return DayFile(path, table.num_rows)


def search_day_table(day: date, users: SearchUsers, rows: int) -> pa.Table:
    """The day's search events, in random order, a few of them sent twice."""
    if (day.year, day.month) not in _MONTH_SLOT:
        raise ValueError(f"search logs cover June and July 2022, not {day}")
    month = _MONTH_SLOT[day.year, day.month]
    rng = rng_for(users.seed, "search_day", day)
    n = rows - round(DUPLICATE_EVENT_SHARE * rows)

    eligible = np.flatnonzero(users.months[:, month])
    # Daily gamma noise makes users search in bursts rather than a little every day.
    weight = users.activity[eligible] * rng.gamma(0.5, size=len(eligible))
    user = eligible[rng.choice(len(eligible), size=n, p=weight / weight.sum())]

    user_id = users.ids[user].copy()
    missing = np.flatnonzero(rng.random(n) < MISSING_USER_SHARE)
    user_id[missing] = [(None, "", "  ")[i % 3] for i in range(len(missing))]
    platform = users.platform[user]
    columns = {
        "eventID": np.array(
            [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)], dtype=object
        ),
        "datetime": _timestamps(rng, day, n),
        "user_id": user_id,
        "keyword": _keywords(rng, users, user, month),
        "category": np.where(rng.random(n) < ENTER_SHARE, "enter", "quit").astype(object),
        "proxy_isp": users.isp[user],
        "platform": _PLATFORM_NAMES[platform],
        "networkType": np.where(rng.random(n) < WIFI_SHARE, "wifi", _OTHER_NETWORK[platform]),
        "action": rng.choice(
            np.array(list(ACTIONS), dtype=object), size=n, p=normalized(ACTIONS.values())
        ),
        "userPlansMap": users.plans[user],
    }
    repeated = rng.choice(n, size=rows - n, replace=False)
    order = np.concatenate([np.arange(n), repeated])[rng.permutation(rows)]
    return pa.table(
        [pa.array(columns[field.name][order], type=field.type) for field in SEARCH_SCHEMA],
        schema=SEARCH_SCHEMA,
    )


def _timestamps(rng: np.random.Generator, day: date, n: int) -> np.ndarray:
    hour = rng.choice(24, size=n, p=normalized(HOUR_WEIGHTS))
    millis = hour * 3_600_000 + rng.integers(0, 3_600_000, size=n)
    moments = np.datetime64(day, "ms") + millis.astype("timedelta64[ms]")
    return np.array([m.replace("T", " ") for m in np.datetime_as_string(moments)], dtype=object)


def _keywords(
    rng: np.random.Generator, users: SearchUsers, user: np.ndarray, month: int
) -> np.ndarray:
    n = len(user)
    title = _pick_titles(rng, users, user, month)
    habitual = rng.random(n) < HABIT_SHARE
    style = np.where(habitual, users.style[user], rng.choice(len(STYLES), size=n, p=_STYLE_SHARES))
    salt = rng.integers(0, 1 << 30, size=n)
    episode = _EPISODIC[title] & (rng.random(n) < EPISODE_SHARE)
    keyword = np.array(
        [
            spell(
                SEARCH_TITLES[t].text + (f" tập {1 + (s >> 8) % 40}" if e else ""),
                _STYLE_NAMES[st],
                s,
            )
            for t, st, s, e in zip(title, style, salt, episode, strict=True)
        ],
        dtype=object,
    )
    u = rng.random(n)
    null_until = NULL_KEYWORD_SHARE
    voice_until = null_until + VOICE_SEARCH_SHARE
    keyword[u < null_until] = None
    keyword[(u >= null_until) & (u < voice_until)] = VOICE_SEARCH_PLACEHOLDER
    blank = np.flatnonzero((u >= voice_until) & (u < voice_until + BLANK_KEYWORD_SHARE))
    keyword[blank] = [("", "   ")[i % 2] for i in range(len(blank))]
    return keyword


def _pick_titles(
    rng: np.random.Generator, users: SearchUsers, user: np.ndarray, month: int
) -> np.ndarray:
    n = len(user)
    second = (rng.random(n) < SECOND_FAVOURITE_SHARE).astype(np.int64)
    favourite = users.favourites[user, month, second]
    genre = users.genre[user, month]
    of_genre = np.empty(n, dtype=np.int64)
    for g, (titles, weights) in enumerate(_GENRE_TITLES):
        members = np.flatnonzero(genre == g)
        of_genre[members] = rng.choice(titles, size=len(members), p=weights)
    anything = rng.choice(len(SEARCH_TITLES), size=n, p=_TITLE_SHARES)
    u = rng.random(n)
    return np.where(
        u < FAVOURITE_SHARE,
        favourite,
        np.where(u < FAVOURITE_SHARE + GENRE_SHARE, of_genre, anything),
    )
