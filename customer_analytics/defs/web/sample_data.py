"""The web clickstream and the CRM extract: sessions of app and web events, in the order the
events API delivers them, dirt included, and the customers they belong to.

Customers are `u000001`, `u000002`, ... and hold contracts of the content sample built with
the same seed, so that the clickstream joins the viewing profiles. Everything is drawn from
generators seeded by (seed, stream): the same inputs always give the same stream.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from customer_analytics.defs.web.rules import EVENT_TYPES, LOYALTY_TIERS, RATINGS
from customer_analytics.lib.sample_files import write_atomically
from customer_analytics.lib.subscribers import default_contracts, draw_subscribers

CRM_CUSTOMERS_DEFAULT = 500
SESSIONS_PER_HOUR_DEFAULT = 20
HOURS_DEFAULT = 48
START_DEFAULT = datetime(2022, 4, 1, tzinfo=UTC)
# The content sample's default population (5,000 lines a day), for the CRM's contracts.
CONTRACTS_DEFAULT = default_contracts(5000)
CRM_FILE = Path("crm") / "crm_customers.csv"

# Streams of randomness of this module; the content and search ones are 1 to 4 (`lib/sample_files.py`).
_CRM_STREAM, _EVENTS_STREAM = 11, 12

LOYALTY_SHARES = (0.45, 0.30, 0.18, 0.07)
RATING_SHARES = (0.05, 0.10, 0.25, 0.35, 0.25)

DEVICES = ("mobile", "desktop", "tablet", "tv")
DEVICE_SHARES = (0.50, 0.30, 0.12, 0.08)
BROWSERS = ("chrome", "safari", "firefox", "edge", "app")
BROWSER_SHARES = (0.45, 0.25, 0.10, 0.08, 0.12)
PAGES = ("/home", "/search", "/account", "/live", "/watch/{n}", "/watch/{n}", "/watch/{n}")
WATCHED_TITLES = 40
EVENT_TYPE_SHARES = (0.45, 0.25, 0.18, 0.08, 0.04)  # parallel to EVENT_TYPES
EVENTS_PER_SESSION = (1, 15)
GAP_SECONDS = (5, 360)
# Per session: users that the CRM does not know, and sessions without user_id.
UNKNOWN_USER_SHARE = 0.03
ANONYMOUS_SHARE = 0.03
# Share of events whose timestamp is in milliseconds; the others are in seconds.
MILLISECONDS_SHARE = 0.5


class Dirt(NamedTuple):
    rate: float  # share of the stream's clean events
    reason: str | None  # the quarantine reason of rules.web; None when the event is valid


# Each dirty item carries one kind of dirt. `not_an_object` and `duplicate` add items to the
# stream; the other kinds change clean events.
DIRT: dict[str, Dirt] = {
    "missing_session_id": Dirt(0.005, "missing_session_id"),  # absent, null or ""
    "missing_event_type": Dirt(0.005, "missing_event_type"),
    "missing_page": Dirt(0.005, "missing_page"),
    "missing_timestamp": Dirt(0.005, "missing_timestamp"),  # absent or null
    "text_timestamp": Dirt(0.005, "invalid_timestamp"),  # "1648771200"
    "unknown_event_type": Dirt(0.01, "unknown_event_type"),  # "hover", "swipe"
    "extra_fields": Dirt(0.02, None),  # referrer and utm_campaign
    # Delivered 2 to 5 hours after it happened, before the stream's last event: fewer when
    # the stream spans little more than 2 hours, none in a shorter one.
    "late": Dirt(0.02, None),
    "duplicate": Dirt(0.01, "duplicate_event"),  # an exact copy, delivered 30-55 min later
    "not_an_object": Dirt(0.003, "not_an_object"),  # a string, a number or a list
}
LATE_DELAY_SECONDS = (2 * 3600, 5 * 3600)
# Below the hour after which an event is late, so that a copy is only a duplicate.
DUPLICATE_DELAY_SECONDS = (30 * 60, 55 * 60)
_MISSING = ("absent", None, "")
_UNKNOWN_TYPES = ("hover", "swipe")
_NOT_OBJECTS = ("keep-alive", 17, ["view", "/home"])
_REFERRERS = ("https://www.google.com/", "https://www.facebook.com/", "android-app://tv")
_CAMPAIGNS = ("spring_promo", "world_cup", "retargeting")


def dirt_counts(clean_events: int) -> dict[str, int]:
    """How many items of a stream of `clean_events` generated events carry each kind of dirt
    (late events: at most that many, see DIRT)."""
    return {kind: round(dirt.rate * clean_events) for kind, dirt in DIRT.items()}


def customer_id(number: int) -> str:
    return f"u{number:06d}"


def crm_customers(
    seed: int, customers: int = CRM_CUSTOMERS_DEFAULT, *, contracts: int = CONTRACTS_DEFAULT
) -> pa.Table:
    """`customers` CRM rows (`u000001`, ...) as `CRM_CUSTOMERS`; each holds a distinct
    contract of the content sample's population of `contracts` (same seed), the active
    viewers more likely, so that most of them have a viewing profile."""
    population, _ = draw_subscribers(seed, contracts)
    if customers > len(population):
        raise ValueError(f"{customers:,} customers need at least as many contracts")
    rng = np.random.default_rng([seed, _CRM_STREAM])
    chosen = rng.choice(
        len(population),
        size=customers,
        replace=False,
        p=population.activity / population.activity.sum(),
    )
    quoted = population.quoted.take(pa.array(chosen)).to_pylist()
    tiers = rng.choice(len(LOYALTY_TIERS), size=customers, p=LOYALTY_SHARES)
    ratings = rng.choice(len(RATINGS), size=customers, p=RATING_SHARES)
    return pa.table(
        {
            "customer_id": [customer_id(i + 1) for i in range(customers)],
            "contract": [value.decode()[1:-1] for value in quoted],
            "loyalty_tier": [LOYALTY_TIERS[t] for t in tiers],
            "rating": pa.array([RATINGS[r] for r in ratings], pa.int64()),
        }
    )


def write_crm(out: Path, table: pa.Table) -> Path:
    """Writes `out/crm/crm_customers.csv` (header customer_id,contract,loyalty_tier,rating)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(table.column_names)
    writer.writerows(zip(*(table[name].to_pylist() for name in table.column_names), strict=True))
    path = Path(out) / CRM_FILE
    write_atomically(path, lambda f: f.write(text.getvalue().encode()))
    return path


class _Item(NamedTuple):
    delivered_ms: int  # when the API hands it out; the stream is sorted by it
    order: int  # ties keep generation order
    value: object


def _sessions(rng: np.random.Generator, start: datetime, hours: int, per_hour: int, customers):
    """Clean events as (time in ms, event), session by session. The first session of every
    hour but the first straddles the hour's start (midnight too, when the window spans it)."""
    events: list[tuple[int, dict]] = []
    origin = int(start.timestamp()) * 1000
    for hour in range(hours):
        for index in range(per_hour):
            count = int(rng.integers(EVENTS_PER_SESSION[0], EVENTS_PER_SESSION[1] + 1))
            longest = EVENTS_PER_SESSION[1]
            gaps = rng.integers(GAP_SECONDS[0] * 1000, GAP_SECONDS[1] * 1000 + 1, size=longest)
            boundary = origin + hour * 3_600_000
            if index == 0 and hour > 0:
                count = max(count, 2)
                first = boundary - int(gaps[1]) // 2
            else:
                first = boundary + int(rng.integers(3_600_000))
            times = first + np.concatenate([[0], np.cumsum(gaps[1:count])])
            session = {"session_id": f"s-{rng.integers(1 << 48):012x}"}
            who = rng.random()
            if who >= ANONYMOUS_SHARE:
                known = who >= ANONYMOUS_SHARE + UNKNOWN_USER_SHARE
                number = int(rng.integers(customers)) + (1 if known else customers + 1)
                session["user_id"] = customer_id(number)
            session["device"] = DEVICES[rng.choice(len(DEVICES), p=DEVICE_SHARES)]
            session["browser"] = BROWSERS[rng.choice(len(BROWSERS), p=BROWSER_SHARES)]
            types = rng.choice(len(EVENT_TYPES), size=count, p=EVENT_TYPE_SHARES)
            pages = rng.integers(len(PAGES), size=count)
            titles = rng.integers(1, WATCHED_TITLES + 1, size=count)
            in_ms = rng.random(count) < MILLISECONDS_SHARE
            for at, kind, page, title, ms in zip(times, types, pages, titles, in_ms, strict=True):
                event = {
                    "session_id": session["session_id"],
                    **({"user_id": session["user_id"]} if "user_id" in session else {}),
                    "event_type": EVENT_TYPES[kind],
                    "page": PAGES[page].format(n=title),
                    "device": session["device"],
                    "browser": session["browser"],
                    "timestamp": int(at) if ms else int(at) // 1000,
                }
                events.append((int(at), event))
    return events


def _blank(event: dict, field: str, variant: int) -> None:
    missing = _MISSING[variant % len(_MISSING)]
    if missing == "absent" or (field == "timestamp" and missing == ""):
        del event[field]
    else:
        event[field] = missing


def event_stream(
    seed: int,
    start: datetime = START_DEFAULT,
    hours: int = HOURS_DEFAULT,
    sessions_per_hour: int = SESSIONS_PER_HOUR_DEFAULT,
    customers: int = CRM_CUSTOMERS_DEFAULT,
) -> list:
    """Every item the events API hands out, in delivery order: about time order, but late
    events and duplicates come when they are delivered. `start` is UTC (a naive one too)."""
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
    rng = np.random.default_rng([seed, _EVENTS_STREAM])
    clean = _sessions(rng, start, hours, sessions_per_hour, customers)
    counts = dirt_counts(len(clean))
    # A late event must be delivered before the stream's last event, when batches are sent.
    last = max(at for at, _ in clean)
    eligible = [i for i, (at, _) in enumerate(clean) if at + LATE_DELAY_SECONDS[0] * 1000 <= last]
    counts["late"] = min(counts["late"], len(eligible))
    late = rng.choice(eligible, size=counts["late"], replace=False) if eligible else []
    others = np.setdiff1d(np.arange(len(clean)), late)
    # Changed and copied events are distinct, so that each item has one kind of dirt.
    size = sum(n for kind, n in counts.items() if kind not in ("late", "not_an_object"))
    picked = {"late": iter(late), "other": iter(rng.choice(others, size=size, replace=False))}
    items = [_Item(at, i, event) for i, (at, event) in enumerate(clean)]
    for kind, count in counts.items():
        for variant in range(count):
            if kind == "not_an_object":
                at = clean[int(rng.integers(len(clean)))][0]
                items.append(_Item(at, len(items), _NOT_OBJECTS[variant % len(_NOT_OBJECTS)]))
                continue
            index = int(next(picked["late" if kind == "late" else "other"]))
            at, event = clean[index]
            if kind == "duplicate":
                delay = int(rng.integers(*DUPLICATE_DELAY_SECONDS)) * 1000
                items.append(_Item(at + delay, len(items), dict(event)))
            elif kind == "late":
                longest = min(LATE_DELAY_SECONDS[1] * 1000, last - at)
                delay = int(rng.integers(LATE_DELAY_SECONDS[0] * 1000, longest + 1))
                items[index] = _Item(at + delay, index, event)
            elif kind.startswith("missing_"):
                _blank(event, kind.removeprefix("missing_"), variant)
            elif kind == "text_timestamp":
                event["timestamp"] = str(event["timestamp"])
            elif kind == "unknown_event_type":
                event["event_type"] = _UNKNOWN_TYPES[variant % len(_UNKNOWN_TYPES)]
            elif kind == "extra_fields":
                event["referrer"] = _REFERRERS[variant % len(_REFERRERS)]
                event["utm_campaign"] = _CAMPAIGNS[variant % len(_CAMPAIGNS)]
    return [item.value for item in sorted(items)]
