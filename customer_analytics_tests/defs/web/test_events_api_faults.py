"""Hostile input and faults of the events API, over real HTTP against a server on 127.0.0.1 that
misbehaves on purpose: no single event stops the poller, a poll always ends, and every error
names the URL and the cursor. 1648818000 is 2022-04-01 13:00:00 UTC."""

import contextlib
import json
import socketserver
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pytest

from customer_analytics.definitions import build_resources
from customer_analytics.defs.web.assets import web_event_batches
from customer_analytics.defs.web.events_api import (
    Batch,
    EventsApi,
    Landed,
    land_batches,
    read_state,
)
from customer_analytics.engines.storage import Location
from customer_analytics.lib.landing import LandingZone
from customer_analytics.settings import ConfigurationError, Settings

T = 1648818000
JUNE_2021 = 1622505600  # 2021-06-01 00:00:00 UTC, before the first partition


@contextlib.contextmanager
def misbehaving(respond):
    """A server that reads each request's line and headers, then lets
    respond(query, request number, socket file to write) answer whatever bytes it likes, as
    slowly as it likes, before the connection is closed; yields its URL and the queries seen."""
    queries: list[dict] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            target = self.rfile.readline().split()[1].decode()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            query = {k: v[-1] for k, v in parse_qs(urlsplit(target).query).items()}
            queries.append(query)
            with contextlib.suppress(OSError):  # the client gave up: nothing more to send
                respond(query, len(queries), self.wfile)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", queries
    finally:
        server.shutdown()
        server.server_close()


def _answer(wfile, body: bytes, status: str = "200 OK") -> None:
    wfile.write(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)


def _page(events, next_cursor, has_more, sent_at=T + 60) -> bytes:
    page = {"events": events, "next_cursor": next_cursor, "has_more": has_more, "sent_at": sent_at}
    return json.dumps(page).encode()  # ASCII: "\ud800" is sent as its escape, valid JSON


def _event(session: str, at: int | None = None) -> dict:
    event = {"session_id": session, "event_type": "view", "page": "/home"}
    return event if at is None else {**event, "timestamp": at}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _batch_file(root: Path, hour: str, seq: int) -> dict:
    return json.loads((root / f"web_events/{hour}/batch-{seq:08d}.json").read_bytes())


THIRTEEN = [datetime(2022, 4, 1, 13)]


# --- one event never stops the stream ---------------------------------------------------


def test_a_lone_surrogate_lands_escaped_and_the_poll_goes_on(tmp_path):
    poisoned = {**_event("s1", T + 10), "user_id": "u\ud800"}
    pages = {
        None: _page([poisoned, {**_event("s2", T + 20), "page": "/tìm"}], "c1", True),
        "c1": _page([{**_event("s3", T + 30), "page": "/tìm"}], "c2", False),
    }
    with misbehaving(lambda query, n, wfile: _answer(wfile, pages[query.get("cursor")])) as (
        url,
        queries,
    ):
        landed = land_batches(EventsApi(url=url), Location(str(tmp_path)), log=print)
    assert landed == Landed(2, 3, THIRTEEN, "c2", "caught_up", 0, 0)
    assert len(queries) == 2
    assert read_state(Location(str(tmp_path))) == ("c2", 2)
    files = _files(tmp_path)
    first = files["web_events/2022/04/01/13/batch-00000000.json"]
    # Escaped, the whole file is ASCII, and reads back as the same strings.
    assert b'"u\\ud800"' in first and first.isascii()
    assert json.loads(first)["events"] == [poisoned, {**_event("s2", T + 20), "page": "/tìm"}]
    # The next batch holds no such string: written as UTF-8, as received.
    assert "/tìm".encode() in files["web_events/2022/04/01/13/batch-00000001.json"]


@pytest.mark.parametrize(
    ("sent_at", "shown"),
    [
        pytest.param(10**20, "1" + "0" * 20, id="beyond-any-clock"),
        # 401 digits, shown as the first 200.
        pytest.param(10**400, "1" + "0" * 199 + "…(+201 chars)", id="beyond-any-float"),
        pytest.param(-1, "-1", id="1969"),
        pytest.param(946684799, "946684799", id="a-second-before-2000"),
        pytest.param(4102444800, "4102444800", id="2100"),
    ],
)
def test_an_implausible_sent_at_lands_the_batch_as_sent_when_received(tmp_path, sent_at, shown):
    page = _page([_event("s1", T + 10), _event("s2")], "c1", False, sent_at)
    lines, warnings = [], []
    with misbehaving(lambda query, n, wfile: _answer(wfile, page)) as (url, queries):
        before = int(time.time())
        landed = land_batches(
            EventsApi(url=url), Location(str(tmp_path)), log=lines.append, warn=warnings.append
        )
        after = int(time.time())
    assert len(queries) == 1
    assert (landed.batches, landed.events, landed.implausible_sent_at) == (1, 2, 1)
    # The event of 13:10 lands in its hour; the one without time in the hour it was received.
    timed = _batch_file(tmp_path, "2022/04/01/13", 0)
    received = timed["sent_at"]
    assert before <= received <= after
    assert timed["server_sent_at"] == sent_at
    assert timed["events"] == [_event("s1", T + 10)]
    now = datetime.fromtimestamp(received, UTC).replace(tzinfo=None, minute=0, second=0)
    assert landed.hours == [datetime(2022, 4, 1, 13), now]
    untimed = _batch_file(tmp_path, f"{now:%Y/%m/%d/%H}", 0)
    assert (untimed["sent_at"], untimed["server_sent_at"]) == (received, sent_at)
    assert untimed["events"] == [_event("s2")]
    assert read_state(Location(str(tmp_path))) == ("c1", 1)
    assert warnings == [
        f"batch 0 (cursor '(start)'): sent_at {shown} of the events API at {url} is not a "
        f"plausible time; landed as sent when received ({received}), the server's value kept "
        "as server_sent_at"
    ]


def test_a_sent_at_of_2000_is_plausible_and_kept(tmp_path):
    # 2000-01-01 00:00:00 is EARLIEST: kept. The event of 2022 is then more than five minutes
    # after it was sent, and the batch was sent before the first partition: the first hour.
    page = _page([_event("s1", T + 10)], "c1", False, 946684800)
    with misbehaving(lambda query, n, wfile: _answer(wfile, page)) as (url, _):
        landed = land_batches(EventsApi(url=url), Location(str(tmp_path)), log=print)
    assert landed == Landed(1, 1, [datetime(2022, 4, 1, 0)], "c1", "caught_up", 0, 0)
    assert set(_batch_file(tmp_path, "2022/04/01/00", 0)) == {
        "batch",
        "cursor",
        "sent_at",
        "positions",
        "events",
    }


def test_events_before_the_first_partition_land_in_a_partition_and_are_counted(tmp_path):
    first = [
        _event("old", JUNE_2021),  # 2021: readable, before the first hour
        _event("now", T + 10),
        _event("unset-clock", 946684799),  # 1999: readable, before the first hour
        _event("no-time"),
    ]
    second = [_event("old-batch", JUNE_2021)]  # sent 2021-06-01 00:01: the first hour
    pages = {
        None: _page(first, "c1", True),
        "c1": _page(second, "c2", False, JUNE_2021 + 60),
    }
    with misbehaving(lambda query, n, wfile: _answer(wfile, pages[query.get("cursor")])) as (
        url,
        _,
    ):
        landed = land_batches(EventsApi(url=url), Location(str(tmp_path)), log=print)
    hours = [datetime(2022, 4, 1, 0), datetime(2022, 4, 1, 13)]
    assert landed == Landed(2, 5, hours, "c2", "caught_up", 3, 0)
    # Every event of the first batch lands in 13:00, the hour it was sent (13:01).
    assert _batch_file(tmp_path, "2022/04/01/13", 0)["positions"] == [0, 1, 2, 3]
    assert _batch_file(tmp_path, "2022/04/01/00", 1)["events"] == second


def test_an_integer_too_long_for_python_lands_as_infinity(tmp_path):
    # 5,000 digits: more than int() converts. Read as the float it overflows to, as 1e5000 is.
    body = _page([_event("s1", 12345)], "c1", False).replace(b"12345", b"9" * 5000)
    with misbehaving(lambda query, n, wfile: _answer(wfile, body)) as (url, _):
        landed = land_batches(EventsApi(url=url), Location(str(tmp_path)), log=print)
    assert landed == Landed(1, 1, THIRTEEN, "c1", "caught_up", 0, 0)  # sent at 13:01
    assert (
        b'"timestamp": Infinity' in _files(tmp_path)["web_events/2022/04/01/13/batch-00000000.json"]
    )
    assert _batch_file(tmp_path, "2022/04/01/13", 0)["events"][0]["timestamp"] == float("inf")


def test_a_cursor_that_cannot_be_sent_back_fails_before_anything_lands(tmp_path):
    page = _page([_event("s1", T)], "c\ud800", True)
    with (
        misbehaving(lambda query, n, wfile: _answer(wfile, page)) as (url, queries),
        pytest.raises(dg.Failure) as failure,
    ):
        land_batches(EventsApi(url=url), Location(str(tmp_path)), log=print)
    assert len(queries) == 1
    assert failure.value.allow_retries is False
    assert failure.value.description.startswith(
        f"The events API at {url}/events?limit=500 did not answer the protocol's JSON for "
        "cursor '(start)' (next_cursor is not valid Unicode text): "
    )
    assert _files(tmp_path) == {}


# --- a poll always ends -----------------------------------------------------------------


def test_has_more_with_the_same_cursor_lands_the_batch_once_then_fails(tmp_path):
    def respond(query, number, wfile):
        _answer(wfile, _page([_event(f"s{number}", T + number)], "c1", True))

    with misbehaving(respond) as (url, queries), pytest.raises(dg.Failure) as failure:
        land_batches(EventsApi(url=url), Location(str(tmp_path)), log=print)
    # The start answers c1; c1 answers c1 again: batch 1 is landed, then the run fails.
    assert [query.get("cursor") for query in queries] == [None, "c1"]
    assert set(_files(tmp_path)) == {
        "web_events/.poller_state.json",
        "web_events/2022/04/01/13/batch-00000000.json",
        "web_events/2022/04/01/13/batch-00000001.json",
    }
    assert _batch_file(tmp_path, "2022/04/01/13", 1)["events"] == [_event("s2", T + 2)]
    assert read_state(Location(str(tmp_path))) == ("c1", 2)
    assert failure.value.allow_retries is False
    assert failure.value.description == (
        f"The events API at {url}/events?limit=500&cursor=c1 answered has_more with the cursor "
        "it was asked for, 'c1': it would serve the same batch forever. Batch 1 was landed once "
        "and the state saved; the next run asks for that cursor again. Fix the API, or set the "
        f"cursor in {tmp_path}/web_events/.poller_state.json"
    )


def _endless(delay: float = 0.0):
    """has_more forever, each cursor n answering one event and the cursor n + 1."""

    def respond(query, number, wfile):
        time.sleep(delay)
        at = int(query.get("cursor", "0"))
        _answer(wfile, _page([_event(f"s{at}", T + at)], str(at + 1), True))

    return respond


def test_has_more_forever_stops_at_the_batches_of_a_run_and_the_next_run_goes_on(tmp_path):
    landing, warnings = Location(str(tmp_path)), []
    with misbehaving(_endless()) as (url, queries):
        api = EventsApi(url=url, max_batches_per_run=3)
        landed = land_batches(api, landing, log=print, warn=warnings.append)
        assert landed == Landed(3, 3, THIRTEEN, "3", "max_batches", 0, 0)
        assert read_state(landing) == ("3", 3)
        assert len(queries) == 3
        again = land_batches(api, landing, log=print, warn=warnings.append)
    assert again == Landed(3, 3, THIRTEEN, "6", "max_batches", 0, 0)
    assert [query.get("cursor") for query in queries] == [None, "1", "2", "3", "4", "5"]
    assert read_state(landing) == ("6", 6)
    assert len(_files(tmp_path)) == 6 + 1  # six batches, the state
    assert warnings[0].startswith("Stopped after 3 batch(es) in ")
    assert warnings[0].endswith(
        " s (max_batches: at most 3 batches and 300 s a run); the API has more: the next run "
        "continues from cursor '3'"
    )


def test_has_more_forever_stops_at_the_seconds_of_a_run(tmp_path):
    # Each answer takes 1 s: after batch 1 (1 s) there is time left, after batch 2 (2 s)
    # the 1.5 s are spent.
    landing, warnings = Location(str(tmp_path)), []
    with misbehaving(_endless(delay=1.0)) as (url, queries):
        api = EventsApi(url=url, max_seconds_per_run=1.5)
        landed = land_batches(api, landing, log=print, warn=warnings.append)
    assert landed == Landed(2, 2, THIRTEEN, "2", "max_seconds", 0, 0)
    assert len(queries) == 2
    assert read_state(landing) == ("2", 2)
    assert len(_files(tmp_path)) == 2 + 1
    assert "(max_seconds: at most 1000 batches and 1.5 s a run)" in warnings[0]


# --- errors that used to escape the client's retries ------------------------------------

OK = _page([_event("s1", T)], "c8", False)


def _cut_short(wfile) -> None:
    """A Content-Length of 1,000 and 14 bytes of body, then the connection is closed."""
    wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b'{"events": [1,')


def _garbage(wfile) -> None:
    wfile.write(b"garbage\r\n")


FAULTS = {
    "incomplete-read": (
        _cut_short,
        "IncompleteRead: IncompleteRead(14 bytes read, 986 more expected)",
    ),
    "bad-status-line": (_garbage, "BadStatusLine: garbage"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_dropped_or_garbled_answer_is_retried(fault):
    misbehave, _ = FAULTS[fault]

    def respond(query, number, wfile):
        if number == 1:
            misbehave(wfile)
        else:
            _answer(wfile, OK)

    with misbehaving(respond) as (url, queries):
        batch = EventsApi(url=url, backoff_seconds=0.01).fetch("c7")
    assert batch == Batch([_event("s1", T)], "c8", False, T + 60)
    assert queries == [{"limit": "500", "cursor": "c7"}] * 2


@pytest.mark.parametrize("fault", FAULTS)
def test_a_dropped_or_garbled_answer_fails_naming_url_cursor_and_error_when_attempts_run_out(
    tmp_path, fault
):
    misbehave, error = FAULTS[fault]
    with (
        misbehaving(lambda query, number, wfile: misbehave(wfile)) as (url, queries),
        pytest.raises(dg.Failure) as failure,
    ):
        land_batches(
            EventsApi(url=url, max_attempts=3, backoff_seconds=0.01), Location(str(tmp_path))
        )
    assert len(queries) == 3
    assert failure.value.description == (
        f"The events API at {url} failed 3 times for cursor '(start)'; last error: {error}"
    )
    assert _files(tmp_path) == {}


def _nested(depth: int) -> bytes:
    """A page whose one event is `depth` lists, one inside the other."""
    return _page(["<>"], "c8", False).replace(b'"<>"', b"[" * depth + b"]" * depth)


def test_100000_nested_brackets_fail_at_once_naming_url_and_cursor():
    body = b"[" * 100_000 + b"]" * 100_000
    with (
        misbehaving(lambda query, number, wfile: _answer(wfile, body)) as (url, queries),
        pytest.raises(dg.Failure) as failure,
    ):
        EventsApi(url=url).fetch("c7")
    assert len(queries) == 1
    assert failure.value.allow_retries is False
    assert failure.value.description == (
        f"The events API at {url}/events?limit=500&cursor=c7 did not answer the protocol's JSON "
        "for cursor 'c7' (lists and objects nested more than 100 deep): "
        + "[" * 200
        + "…(+199,800 chars)"
    )


def test_nesting_is_limited_to_100_levels_however_deep_python_could_go():
    # The page is one level, its events a second: an event of 98 levels reaches 100.
    with misbehaving(lambda query, number, wfile: _answer(wfile, _nested(98))) as (url, _):
        assert EventsApi(url=url).fetch("c7").events == [json.loads(b"[" * 98 + b"]" * 98)]
    with (
        misbehaving(lambda query, number, wfile: _answer(wfile, _nested(99))) as (url, _),
        pytest.raises(dg.Failure) as failure,
    ):
        EventsApi(url=url).fetch("c7")
    assert "for cursor 'c7' (lists and objects nested more than 100 deep)" in (
        failure.value.description
    )


# --- a request is bounded as a whole ----------------------------------------------------


def _trickle(head: bytes, slow: bytes):
    """Sends `head` at once, then `slow` one byte every 0.3 s."""

    def respond(query, number, wfile):
        wfile.write(head)
        for byte in slow:
            time.sleep(0.3)
            wfile.write(bytes([byte]))

    return respond


SLOW_BODY = b"x" * 20
TRICKLES = {
    "status-line": _trickle(b"", b"HTTP/1.1 200 OK\r\n\r\n"),
    "headers": _trickle(b"HTTP/1.1 200 OK\r\n", b"X-Slow: 0123456789\r\n\r\n"),
    "body": _trickle(
        f"HTTP/1.1 200 OK\r\nContent-Length: {len(SLOW_BODY)}\r\n\r\n".encode(), SLOW_BODY
    ),
}


@pytest.mark.parametrize("where", TRICKLES)
def test_a_trickle_is_cut_at_the_requests_deadline_and_retried(tmp_path, where):
    # A byte every 0.3 s never trips the 1 s timeout of a read; 20 of them take 6 s. Each
    # attempt is cut after 1 s: two attempts end in about 2 s.
    started = time.monotonic()
    with (
        misbehaving(TRICKLES[where]) as (url, queries),
        pytest.raises(dg.Failure) as failure,
    ):
        api = EventsApi(url=url, timeout_seconds=1, max_attempts=2, backoff_seconds=0.01)
        land_batches(api, Location(str(tmp_path)))
    elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 4
    assert len(queries) == 2
    assert failure.value.description == (
        f"The events API at {url} failed 2 times for cursor '(start)'; last error: "
        "no complete answer within 1 s"
    )
    assert _files(tmp_path) == {}


def test_a_slow_answer_within_the_deadline_is_read_whole():
    # The page in four pieces 0.2 s apart: 0.6 s, inside the 2 s of the request.
    def respond(query, number, wfile):
        answer = f"HTTP/1.1 200 OK\r\nContent-Length: {len(OK)}\r\n\r\n".encode() + OK
        for piece in range(4):
            time.sleep(0.2 if piece else 0)
            wfile.write(answer[piece * len(answer) // 4 : (piece + 1) * len(answer) // 4])
            wfile.flush()

    with misbehaving(respond) as (url, queries):
        batch = EventsApi(url=url, timeout_seconds=2, max_attempts=1).fetch(None)
    assert batch == Batch([_event("s1", T)], "c8", False, T + 60)
    assert len(queries) == 1


# --- the asset ----------------------------------------------------------------------------


def test_the_asset_records_why_it_stopped_and_what_it_counted(tmp_path):
    pages = {
        None: _page([_event("old", JUNE_2021), _event("s1", T)], "c1", True, 10**20),
        "c1": _page([_event("s2", T + 1)], "c2", True),
    }
    with misbehaving(lambda query, n, wfile: _answer(wfile, pages[query.get("cursor")])) as (
        url,
        _,
    ):
        result = dg.materialize(
            [web_event_batches],
            resources={
                "events_api": EventsApi(url=url, max_batches_per_run=2),
                "landing": LandingZone(uri=str(tmp_path)),
            },
        )
    (materialization,) = result.asset_materializations_for_node("web_event_batches")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert {key: metadata[key] for key in metadata if key != "hours_landed"} == {
        "batches": 2,
        "events": 3,
        "cursor": "c2",
        "stopped": "max_batches",
        "events_before_first_partition": 1,
        "batches_with_implausible_sent_at": 1,
    }


def test_the_asset_does_not_retry_an_error_a_retry_cannot_fix(tmp_path):
    # The landing zone is a file: no folder can be made in it, now or on a later attempt.
    (tmp_path / "landing").write_text("not a folder")
    with misbehaving(lambda query, n, wfile: _answer(wfile, OK)) as (url, queries):
        result = dg.materialize(
            [web_event_batches],
            resources={
                "events_api": EventsApi(url=url),
                "landing": LandingZone(uri=str(tmp_path / "landing")),
            },
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_failure_data.error.message.startswith(
        "dagster._core.definitions.events.Failure: web_event_batches failed: "
    )
    assert "(not retried: a retry cannot fix this error)" in failure.step_failure_data.error.message
    assert len(queries) <= 1


def test_the_bounds_of_a_run_come_from_the_environment():
    def events_api(env: dict[str, str]) -> EventsApi:
        return build_resources(Settings.from_env(env))["events_api"]

    default = events_api({})
    assert (default.max_batches_per_run, default.max_seconds_per_run) == (1000, 300)
    env = {"EVENTS_API_MAX_BATCHES_PER_RUN": "7", "EVENTS_API_MAX_SECONDS_PER_RUN": "9"}
    assert (events_api(env).max_batches_per_run, events_api(env).max_seconds_per_run) == (7, 9)
    for name in env:
        with pytest.raises(ConfigurationError, match=f"^{name}='0': "):
            Settings.from_env({name: "0"})
