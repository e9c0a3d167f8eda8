"""The events API client and the poller, over real HTTP on the loopback interface: the shipped
server for retries, a tiny scripted server for everything else. 1648818000 is
2022-04-01 13:00:00 UTC."""

import contextlib
import itertools
import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pytest

from customer_analytics.defs.web.events_api import (
    Batch,
    EventsApi,
    Landed,
    land_batches,
    read_state,
)
from customer_analytics.defs.web.sample_events_api import EventsServer
from customer_analytics.engines.storage import Location

T = 1648818000


@contextlib.contextmanager
def scripted(respond):
    """A server answering each GET with respond(query, request number) → (status, headers,
    body); yields its URL and the list of (time, query) of the requests it got."""
    requests: list[tuple[float, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            requests.append((time.monotonic(), query))
            status, headers, body = respond(query, len(requests))
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def _page(events, next_cursor, has_more, sent_at=T):
    return {"events": events, "next_cursor": next_cursor, "has_more": has_more, "sent_at": sent_at}


def _failing_then_ok(failures: int, status: int, headers: dict):
    def respond(query, number):
        if number <= failures:
            return status, headers, {"error": "busy"}
        return 200, {}, _page([{"n": 1}], "1", False)

    return respond


def test_fetch_retries_the_shipped_servers_503s():
    stream = [{"timestamp": T + i} for i in range(25)]
    with EventsServer(stream, fail_every=2).running() as server:
        api = EventsApi(url=server.url, batch_size=10, backoff_seconds=0.01)
        first = api.fetch(None)  # request 1
        second = api.fetch(first.next_cursor)  # 2 fails, 3 answers
        third = api.fetch(second.next_cursor)  # 4 fails, 5 answers
    assert first == Batch(stream[:10], "10", True, T + 9 + 30)
    assert second == Batch(stream[10:20], "20", True, T + 19 + 30)
    assert third == Batch(stream[20:], "25", False, T + 24 + 30)


def test_attempts_exhausted_name_the_url_the_cursor_and_the_last_error():
    with EventsServer([{"timestamp": T}], fail_every=1).running() as server:
        api = EventsApi(url=server.url, max_attempts=3, backoff_seconds=0.01)
        with pytest.raises(dg.Failure) as failure:
            api.fetch("0")
    assert failure.value.description == (
        f"The events API at {server.url} failed 3 times for cursor '0'; last error: "
        'HTTP 503: {"error": "request 3 fails on purpose"}'
    )


def test_a_refused_connection_is_retried_then_fails():
    with scripted(lambda query, number: (200, {}, {})) as (url, _):
        pass  # the port is free again: nobody listens
    with pytest.raises(dg.Failure) as failure:
        EventsApi(url=url, max_attempts=2, backoff_seconds=0.01).fetch(None)
    assert "failed 2 times for cursor '(start)'" in failure.value.description
    assert "ConnectionRefusedError" in failure.value.description


def test_backoff_doubles_between_attempts():
    with scripted(_failing_then_ok(3, 500, {})) as (url, requests):
        batch = EventsApi(url=url, backoff_seconds=0.1).fetch(None)
    assert batch == Batch([{"n": 1}], "1", False, T)
    times = [at for at, _ in requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 3
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4
    assert gaps[2] < 2


def test_retry_after_is_honoured():
    with scripted(_failing_then_ok(1, 429, {"Retry-After": "1"})) as (url, requests):
        EventsApi(url=url, backoff_seconds=0.01).fetch(None)
    assert len(requests) == 2
    assert requests[1][0] - requests[0][0] >= 1.0


def test_a_4xx_is_not_retried_and_says_why():
    def respond(query, number):
        return 400, {}, {"error": "bad cursor 'x'"}

    with scripted(respond) as (url, requests), pytest.raises(dg.Failure) as failure:
        EventsApi(url=url, backoff_seconds=0.01).fetch("x")
    assert len(requests) == 1
    assert failure.value.description == (
        f"The events API at {url}/events?limit=500&cursor=x refused cursor 'x': "
        'HTTP 400: {"error": "bad cursor \'x\'"}'
    )
    assert failure.value.allow_retries is False


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>" + b"x" * 1000, "Expecting value"),
        (json.dumps({"events": [], "has_more": False, "sent_at": T}).encode(), "next_cursor"),
        (json.dumps(_page([], "1", "no")).encode(), "has_more"),
        (json.dumps(_page([], "1", False, sent_at="now")).encode(), "sent_at"),
        (b"[]", "not a JSON object"),
    ],
)
def test_a_body_that_is_not_the_protocols_json_fails_at_once(body, why):
    answer = (200, {}, body)
    with (
        scripted(lambda query, number: answer) as (url, requests),
        pytest.raises(dg.Failure) as failure,
    ):
        EventsApi(url=url).fetch(None)
    assert len(requests) == 1
    assert "did not answer the protocol's JSON" in failure.value.description
    assert why in failure.value.description
    if len(body) > 1000:
        assert failure.value.description.endswith("…(+806 chars)")


# The hand-made stream: two pages. Page 0 is sent at 14:00:40; its event without timestamp and
# its string land in the 14 h folder, its late event in the 11 h one.
PAGE_0 = [
    {"session_id": "s1", "event_type": "view", "page": "/tìm-kiếm", "timestamp": T + 10},
    {"session_id": "s1", "event_type": "click", "page": "/home", "timestamp": (T + 3605) * 1000},
    {"session_id": "s2", "event_type": "view", "page": "/home"},
    "junk",
    {"session_id": "s3", "event_type": "like", "page": "/home", "timestamp": T - 7200},
]
PAGE_1 = [{"session_id": "s4", "event_type": "view", "page": "/live", "timestamp": T + 7201}]
PAGES = {
    None: _page(PAGE_0, "c1", True, T + 3640),
    "c1": _page(PAGE_1, "c2", False, T + 7231),
    "c2": _page([], "c2", False, T + 7231),
}


def _protocol(query, number):
    return 200, {}, PAGES[query.get("cursor")]


def _files(root: Path) -> dict[str, dict]:
    return {
        str(path.relative_to(root)): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_batches_land_in_hour_folders_with_their_positions_and_the_state(tmp_path):
    lines = []
    with scripted(_protocol) as (url, requests):
        landed = land_batches(EventsApi(url=url), Location(str(tmp_path)), log=lines.append)
    hours = [datetime(2022, 4, 1, hour) for hour in (11, 13, 14, 15)]
    assert landed == Landed(
        batches=2,
        events=6,
        hours=hours,
        cursor="c2",
        stopped="caught_up",
        events_before_first_partition=0,
        implausible_sent_at=0,
    )
    assert [query for _, query in requests] == [{"limit": "500"}, {"limit": "500", "cursor": "c1"}]
    assert lines == [
        "batch 0: 5 events into 3 hour folder(s), cursor (start) → c1",
        "batch 1: 1 events into 1 hour folder(s), cursor c1 → c2",
    ]

    def batch(seq, cursor, sent_at, positions, events):
        return {
            "batch": seq,
            "cursor": cursor,
            "sent_at": sent_at,
            "positions": positions,
            "events": events,
        }

    expected = {
        "web_events/.poller_state.json": {"cursor": "c2", "batches": 2},
        "web_events/2022/04/01/11/batch-00000000.json": batch(0, "", T + 3640, [4], PAGE_0[4:]),
        "web_events/2022/04/01/13/batch-00000000.json": batch(0, "", T + 3640, [0], PAGE_0[:1]),
        "web_events/2022/04/01/14/batch-00000000.json": batch(
            0, "", T + 3640, [1, 2, 3], PAGE_0[1:4]
        ),
        "web_events/2022/04/01/15/batch-00000001.json": batch(1, "c1", T + 7231, [0], PAGE_1),
    }
    assert _files(tmp_path) == expected
    assert (
        "/tìm-kiếm".encode()
        in (tmp_path / "web_events/2022/04/01/13/batch-00000000.json").read_bytes()
    )
    assert read_state(Location(str(tmp_path))) == ("c2", 2)

    # Caught up: nothing landed, no batch number spent.
    with scripted(_protocol) as (url, _):
        again = land_batches(EventsApi(url=url), Location(str(tmp_path)), log=lines.append)
    assert again == Landed(0, 0, [], "c2", "caught_up", 0, 0)
    assert _files(tmp_path) == expected


def test_a_restart_continues_from_the_state_and_a_crash_before_it_lands_the_same_files(tmp_path):
    landing = Location(str(tmp_path))
    assert read_state(landing) == (None, 0)
    with scripted(_protocol) as (url, requests):
        api = EventsApi(url=url)
        one_batch = EventsApi(url=url, max_batches_per_run=1)
        assert land_batches(one_batch, landing, log=print).stopped == "max_batches"
        assert read_state(landing) == ("c1", 1)
        land_batches(api, landing, log=print)
        finished = _files(tmp_path)
        # Killed after batch 1's files, before its state: batch 1 is fetched and written again.
        (tmp_path / "web_events/.poller_state.json").write_text('{"cursor": "c1", "batches": 1}')
        assert land_batches(api, landing, log=print).batches == 1
    assert [query.get("cursor") for _, query in requests] == [None, "c1", "c1"]
    assert _files(tmp_path) == finished
