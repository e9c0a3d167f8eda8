"""The sample clickstream, the CRM extract and the shipped events server, over real HTTP on
the loopback interface. 1648818000 is 2022-04-01 13:00:00 UTC."""

import csv
import json
import re
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime

import pytest

from customer_analytics.defs.content.sample_data import Contracts
from customer_analytics.defs.web.rules import (
    EVENT_TYPES,
    KNOWN_FIELDS,
    LOYALTY_TIERS,
    MILLISECONDS_FROM,
    event_time,
    text_value,
)
from customer_analytics.defs.web.sample_data import (
    CONTRACTS_DEFAULT,
    DIRT,
    crm_customers,
    dirt_counts,
    event_stream,
    write_crm,
)
from customer_analytics.defs.web.sample_events_api import EventsServer
from customer_analytics.sample_data.__main__ import main as sample_main

T = 1648818000
START = datetime(2022, 4, 1, 20, tzinfo=UTC)  # eight hours across midnight
OPTIONS = dict(seed=42, start=START, hours=8, sessions_per_hour=20, customers=100)


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def stream() -> list:
    return event_stream(**OPTIONS)


def _canonical(item: object) -> str:
    return json.dumps(item, sort_keys=True)


def test_same_inputs_same_stream_and_crm(stream):
    assert event_stream(**OPTIONS) == stream
    assert event_stream(**(OPTIONS | {"seed": 7})) != stream
    assert crm_customers(42, 50) == crm_customers(42, 50)
    assert crm_customers(42, 50) != crm_customers(7, 50)


def test_the_stream_holds_each_kind_of_dirt_as_often_as_the_table_says(stream):
    objects = [item for item in stream if isinstance(item, dict)]
    seen: set[str] = set()
    duplicates = 0
    for item in stream:
        duplicates += _canonical(item) in seen and isinstance(item, dict)
        seen.add(_canonical(item))
    # The generated events are the objects but the copies.
    expected = dirt_counts(len(objects) - duplicates)
    assert set(expected) == set(DIRT)
    assert expected["duplicate"] == duplicates > 0

    def count(test) -> int:
        return sum(1 for event in objects if test(event))

    assert len(stream) - len(objects) == expected["not_an_object"] > 0
    for field in ("session_id", "event_type", "page"):
        assert (
            count(lambda e, f=field: text_value(e.get(f)) is None) == expected[f"missing_{field}"]
        )
    assert count(lambda e: e.get("timestamp") is None) == expected["missing_timestamp"] > 0
    assert count(lambda e: isinstance(e.get("timestamp"), str)) == expected["text_timestamp"] > 0
    unknown = Counter(e["event_type"] for e in objects if e.get("event_type"))
    assert set(unknown) - set(EVENT_TYPES) == {"hover", "swipe"}
    assert sum(unknown[name] for name in ("hover", "swipe")) == expected["unknown_event_type"]
    extra = count(lambda e: set(e) - set(KNOWN_FIELDS))
    assert extra == expected["extra_fields"] > 0
    assert count(lambda e: set(e) - set(KNOWN_FIELDS) == {"referrer", "utm_campaign"}) == extra

    # Late: delivered after events at least an hour newer (2 to 5 hours, in fact).
    latest, late = 0.0, 0
    for event in objects:
        if happened := event_time(event.get("timestamp")):
            late += happened.timestamp() < latest - 3600
            latest = max(latest, happened.timestamp())
    assert late == expected["late"] > 0

    readable = [e["timestamp"] for e in objects if isinstance(e.get("timestamp"), int)]
    milliseconds = sum(value >= MILLISECONDS_FROM for value in readable) / len(readable)
    assert 0.4 < milliseconds < 0.6


def test_sessions_cross_hours_and_midnight_and_users_are_mostly_customers(stream):
    sessions: dict[str, list[dict]] = {}
    for event in stream:
        if isinstance(event, dict) and text_value(event.get("session_id")):
            sessions.setdefault(event["session_id"], []).append(event)
    assert all(re.fullmatch(r"s-[0-9a-f]{12}", session) for session in sessions)
    hours = {
        session: {
            t.replace(minute=0, second=0) for e in events if (t := event_time(e.get("timestamp")))
        }
        for session, events in sessions.items()
    }
    assert sum(len(h) > 1 for h in hours.values()) >= 3  # one at each hour after the first
    assert any(len({t.date() for t in h}) == 2 for h in hours.values())
    assert all(1 <= len(events) <= 15 + 2 for events in sessions.values())  # + a copy or two
    users = {event.get("user_id") for events in sessions.values() for event in events}
    customers = {f"u{n:06d}" for n in range(1, 101)}
    assert None in users  # sessions without user_id
    assert users - customers - {None}  # users the CRM does not know
    assert len(users & customers) > 50
    devices = {event.get("device") for events in sessions.values() for event in events}
    assert devices <= {"mobile", "desktop", "tablet", "tv"}


def test_the_server_speaks_the_protocol():
    stream = [
        {"timestamp": T},
        {"timestamp": (T + 100) * 1000},
        "junk",
        {"timestamp": T + 50},  # late: sent_at does not go back
        {"session_id": "s"},
    ]
    start = datetime.fromtimestamp(T - 3600, UTC)
    with EventsServer(stream, start=start).running() as server:
        url = f"{server.url}/events"
        assert _get(f"{url}?limit=2") == (
            200,
            {"events": stream[:2], "next_cursor": "2", "has_more": True, "sent_at": T + 130},
        )
        assert _get(f"{url}?cursor=2&limit=2")[1] == {
            "events": ["junk", {"timestamp": T + 50}],
            "next_cursor": "4",
            "has_more": True,
            "sent_at": T + 130,
        }
        assert _get(f"{url}?cursor=4")[1] == {
            "events": [{"session_id": "s"}],
            "next_cursor": "5",
            "has_more": False,
            "sent_at": T + 130,
        }
        nothing = {"events": [], "next_cursor": "5", "has_more": False, "sent_at": T + 130}
        assert _get(f"{url}?cursor=5&limit=9") == (200, nothing)
        for query in ("cursor=abc", "cursor=6", "cursor=-1", "limit=0", "limit=x"):
            status, body = _get(f"{url}?{query}")
            assert status == 400 and "error" in body, query
        assert _get(f"{server.url}/other")[0] == 404
    # Before any readable timestamp the batch is sent 30 s after the stream's start.
    with EventsServer(["junk"], start=start).running() as server:
        assert _get(f"{server.url}/events")[1]["sent_at"] == T - 3600 + 30


def test_pages_reach_the_end_of_the_stream(stream):
    with EventsServer(stream, start=START).running() as server:
        cursor, items, pages, sent = "", [], 0, []
        while True:
            _, page = _get(f"{server.url}/events?cursor={cursor}&limit=137")
            items += page["events"]
            sent.append(page["sent_at"])
            pages, cursor = pages + 1, page["next_cursor"]
            if not page["has_more"]:
                break
    assert items == stream
    assert pages == -(-len(stream) // 137)
    assert sent == sorted(sent)


def test_fail_every_answers_503_with_retry_after():
    with EventsServer([{"timestamp": T}], fail_every=3).running() as server:
        statuses = []
        for _ in range(6):
            try:
                with urllib.request.urlopen(f"{server.url}/events") as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
                assert error.headers["Retry-After"] == "0"
    assert statuses == [200, 200, 503, 200, 200, 503]


def test_crm_extract_holds_contracts_of_the_content_sample(tmp_path):
    path = write_crm(tmp_path, crm_customers(42, 200))
    assert path == tmp_path / "crm" / "crm_customers.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["customer_id", "contract", "loyalty_tier", "rating"]
    body = rows[1:]
    assert [row[0] for row in body] == [f"u{n:06d}" for n in range(1, 201)]
    contracts = [row[1] for row in body]
    population = {
        c.decode()[1:-1] for c in Contracts.build(42, CONTRACTS_DEFAULT).quoted.to_pylist()
    }
    assert len(set(contracts)) == 200 and set(contracts) <= population
    assert {row[2] for row in body} == set(LOYALTY_TIERS)
    assert {row[3] for row in body} == {"1", "2", "3", "4", "5"}


def test_sample_cli_writes_the_crm_extract(tmp_path):
    args = ["--out", str(tmp_path), "--content-days", "1", "--lines-per-day", "500", "--quiet"]
    assert sample_main([*args, "--no-search", "--crm", "--crm-customers", "20"]) == 0
    with open(tmp_path / "crm" / "crm_customers.csv", encoding="utf-8") as f:
        assert len(f.read().splitlines()) == 21
