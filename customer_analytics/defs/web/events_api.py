"""The events API client and the poller that lands its batches (docs/web.md).

The poller is restartable: each batch's files are written under names fixed by its sequence
number, and only then the state (next cursor, batches landed). A run killed in between fetches
the same cursor again as the same batch and overwrites the same files.
"""

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import pyarrow.fs as pafs

from customer_analytics.defs.web.landing import WEB_EVENTS, hour_folder
from customer_analytics.defs.web.rules import (
    EARLIEST,
    FIRST_HOUR,
    MAX_FUTURE,
    event_time,
    landing_hour,
)
from customer_analytics.engines.storage import STAGING_NAME, Location
from customer_analytics.lib.metadata import shortened
from customer_analytics.settings import DEFAULTS

STATE_FILE = f"{WEB_EVENTS}/.poller_state.json"
# No wait between attempts is longer, Retry-After included.
MAX_BACKOFF_SECONDS = 30.0
# Deeper answers are refused: well below Python's recursion limit, so that whatever lands can be
# written and read back by every later reader, however deep in the stack it runs.
MAX_NESTING = 100

# Why a run of the poller stopped: the API had no more, or one of the run's bounds was reached
# (the state is saved: the next run goes on from there).
CAUGHT_UP, MAX_BATCHES, MAX_SECONDS = "caught_up", "max_batches", "max_seconds"


@dataclass(frozen=True)
class Batch:
    events: list
    next_cursor: str
    has_more: bool
    sent_at: int


@dataclass(frozen=True)
class Landed:
    batches: int
    events: int
    hours: list[datetime]  # naive UTC, sorted
    cursor: str | None
    stopped: str  # CAUGHT_UP, MAX_BATCHES or MAX_SECONDS
    # Events whose time is before FIRST_HOUR: no partition of their own (see `landing_hour`).
    events_before_first_partition: int
    # Batches whose sent_at was not a plausible time, landed as sent when they were received.
    implausible_sent_at: int


class _Transient(Exception):
    """A failed attempt that a later one may not meet; `retry_after` is the server's wish."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: the exponential backoff is as good
        return None


def _json_int(text: str) -> int | float:
    """A JSON integer; one longer than Python converts (`sys.get_int_max_str_digits`) is read
    as the float it overflows to, as a float literal that long already is: one such number
    inside an event must not make the whole batch unreadable."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _nesting(document: object) -> int:
    """How deep lists and objects nest in `document` (0 for a scalar), without recursing."""
    deepest, pending = 0, [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in value)
    return deepest


def _batch(body: bytes) -> Batch:
    """The protocol's answer, checked; a ValueError says what is wrong."""
    too_deep = f"lists and objects nested more than {MAX_NESTING} deep"
    try:
        document = json.loads(body.decode("utf-8"), parse_int=_json_int)
    except RecursionError:
        raise ValueError(too_deep) from None
    if _nesting(document) > MAX_NESTING:
        raise ValueError(too_deep)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    events, cursor = document.get("events"), document.get("next_cursor")
    has_more, sent_at = document.get("has_more"), document.get("sent_at")
    if not isinstance(events, list):
        raise ValueError("events is not a list")
    if not isinstance(cursor, str):
        raise ValueError("next_cursor is not a string")
    try:
        cursor.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: it could not be sent back in a URL
        raise ValueError("next_cursor is not valid Unicode text") from None
    if not isinstance(has_more, bool):
        raise ValueError("has_more is not true or false")
    if isinstance(sent_at, bool) or not isinstance(sent_at, int):
        raise ValueError("sent_at is not an integer")
    return Batch(events, cursor, has_more, sent_at)


@contextlib.contextmanager
def _cut_at(deadline: float, sock: socket.socket, cut: threading.Event) -> Iterator[None]:
    """Shuts `sock`'s connection down at `deadline` (time.monotonic) if the block is still
    running then, and sets `cut`.

    A socket's timeout bounds each read, not the request: a server that trickles a byte every
    few seconds holds a request for as long as it likes, in the TLS handshake, the status line,
    the headers or the body alike. A timer that shuts the connection down bounds all of them at
    once: the read waiting on it returns at once, whichever it is. The timer shuts down a
    duplicate of the socket (the same connection, a descriptor of its own), closed only once
    the timer has stopped: it can never touch a descriptor that was closed and reused."""
    guard = sock.dup()

    def shut_down() -> None:
        cut.set()
        with contextlib.suppress(OSError):  # already closed by the other side
            guard.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), shut_down)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        guard.close()


class EventsApi(dg.ConfigurableResource):
    """The clickstream's events API (EVENTS_API_URL): pages of events from a cursor, and the
    bounds of one run of the poller (EVENTS_API_MAX_BATCHES_PER_RUN,
    EVENTS_API_MAX_SECONDS_PER_RUN)."""

    url: str
    batch_size: int = 500
    max_attempts: int = 6
    # Wait before the second attempt; it doubles after each, up to MAX_BACKOFF_SECONDS.
    backoff_seconds: float = 0.5
    # The whole of one request: connecting, the answer's status line, headers and body.
    timeout_seconds: float = 10
    max_batches_per_run: int = int(DEFAULTS["EVENTS_API_MAX_BATCHES_PER_RUN"])
    # Checked between batches: a batch being fetched is finished, its retries included.
    max_seconds_per_run: float = float(DEFAULTS["EVENTS_API_MAX_SECONDS_PER_RUN"])

    def request_url(self, cursor: str | None) -> str:
        query = {"limit": self.batch_size} | ({"cursor": cursor} if cursor else {})
        return f"{self.url.rstrip('/')}/events?{urllib.parse.urlencode(query)}"

    def fetch(self, cursor: str | None) -> Batch:
        """The batch after `cursor` (None or "": from the start). Connection errors, dropped
        connections, malformed HTTP, timeouts, 429 and 5xx are retried with backoff; any other
        answer that is not the protocol's is a `dg.Failure` at once."""
        address, attempts = self.request_url(cursor), max(1, self.max_attempts)
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(address, cursor)
            except _Transient as error:
                last = error
            if attempt < attempts:
                wait = self.backoff_seconds * 2 ** (attempt - 1)
                if last.retry_after is not None:
                    wait = last.retry_after
                time.sleep(min(wait, MAX_BACKOFF_SECONDS))
        raise dg.Failure(
            f"The events API at {self.url} failed {attempts} times for cursor "
            f"{cursor or '(start)'!r}; last error: {last}"
        )

    def _attempt(self, address: str, cursor: str | None) -> Batch:
        what = f"The events API at {address}"
        status, headers, body = self._get(address)
        text = shortened(body.decode("utf-8", "replace"))
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status}: {text}", _retry_after(headers.get("Retry-After")))
        if not 200 <= status < 300:
            raise dg.Failure(
                f"{what} refused cursor {cursor or '(start)'!r}: HTTP {status}: {text}",
                allow_retries=False,
            )
        try:
            return _batch(body)
        except ValueError as error:  # bad UTF-8 and bad JSON are ValueErrors too
            raise dg.Failure(
                f"{what} did not answer the protocol's JSON for cursor {cursor or '(start)'!r} "
                f"({error}): {text}",
                allow_retries=False,
            ) from error

    def _get(self, address: str) -> tuple[int, http.client.HTTPMessage, bytes]:
        """Status, headers and body of a GET of `address`, all within `timeout_seconds`
        (`_cut_at`); any failure to get them whole is `_Transient`."""
        deadline, cut = time.monotonic() + self.timeout_seconds, threading.Event()
        late = f"no complete answer within {self.timeout_seconds:g} s"
        parts = urllib.parse.urlsplit(address)
        https = parts.scheme == "https"
        connection = (http.client.HTTPSConnection if https else http.client.HTTPConnection)(
            parts.netloc, timeout=self.timeout_seconds
        )
        try:
            # Connecting is bounded by the socket's timeout; everything after, by the deadline.
            connection.sock = socket.create_connection(
                (connection.host, connection.port), self.timeout_seconds
            )
            with _cut_at(deadline, connection.sock, cut):
                if https:
                    connection.sock = ssl.create_default_context().wrap_socket(
                        connection.sock, server_hostname=connection.host
                    )
                target = f"{parts.path}?{parts.query}"
                connection.request("GET", target, headers={"Accept": "application/json"})
                response = connection.getresponse()
                answer = response.status, response.headers, response.read()
        except (OSError, http.client.HTTPException) as error:  # refused, reset, cut short
            if cut.is_set():
                raise _Transient(late) from error
            raise _Transient(f"{type(error).__name__}: {shortened(str(error).strip())}") from error
        finally:
            connection.close()
        # Cut amid the headers, or in a body without Content-Length, an answer looks whole.
        if cut.is_set():
            raise _Transient(late)
        return answer


def read_state(landing: Location) -> tuple[str | None, int]:
    """(cursor to fetch next, batches landed) of the poller; (None, 0) before the first."""
    if not landing.exists(STATE_FILE):
        return None, 0
    state = json.loads(landing.read_buffer(STATE_FILE).to_pybytes())
    return state["cursor"], int(state["batches"])


def _write_json(landing: Location, relative: str, document: dict) -> None:
    try:
        data = json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800") is valid JSON text but not UTF-8: escaped, the file is
        # still valid JSON and reads back as the same string (the validation quarantines it).
        data = json.dumps(document).encode("ascii")
    landing.write(relative, lambda sink: sink.write(data))


def _remove_staging(landing: Location) -> None:
    """Removes the staging files a killed predecessor left (one poller lands at a time); S3
    has none: an object appears only once uploaded."""
    if not landing.is_local:
        return
    selector = pafs.FileSelector(landing.path(WEB_EVENTS), allow_not_found=True, recursive=True)
    for info in landing.filesystem.get_file_info(selector):
        if info.type == pafs.FileType.File and STAGING_NAME.fullmatch(info.base_name):
            landing.filesystem.delete_file(info.path)


def _plausible(sent_at: int, received: int) -> bool:
    """Whether a batch can have been sent at `sent_at`: from EARLIEST to MAX_FUTURE (the clocks'
    disagreement) after the poller received it."""
    try:
        sent = datetime.fromtimestamp(sent_at, UTC)
    except (OverflowError, OSError, ValueError):
        return False
    return EARLIEST <= sent <= datetime.fromtimestamp(received, UTC) + MAX_FUTURE


def _before_first_partition(event: object) -> bool:
    happened = event_time(event.get("timestamp")) if isinstance(event, dict) else None
    return happened is not None and happened < FIRST_HOUR


def _land(
    landing: Location, seq: int, cursor: str | None, batch: Batch, sent: dict
) -> dict[datetime, list[int]]:
    """Writes one batch's files, one per hour folder its events land in; `sent` is its
    `sent_at` (and the server's `server_sent_at` when that was replaced). The folders used."""
    by_hour: dict[datetime, list[int]] = {}
    for position, event in enumerate(batch.events):
        hour = landing_hour(event, sent["sent_at"]).replace(tzinfo=None)
        by_hour.setdefault(hour, []).append(position)
    for hour, positions in sorted(by_hour.items()):
        document = {
            "batch": seq,
            "cursor": cursor or "",
            **sent,
            "positions": positions,
            "events": [batch.events[i] for i in positions],
        }
        _write_json(landing, f"{hour_folder(hour)}/batch-{seq:08d}.json", document)
    return by_hour


def land_batches(
    api: EventsApi,
    landing: Location,
    *,
    log: Callable[[str], object] = print,
    warn: Callable[[str], object] = print,
) -> Landed:
    """Fetches batches from the saved cursor until the API has no more, or the run's bounds
    (`api.max_batches_per_run`, `api.max_seconds_per_run`) are reached, landing each as
    `web_events/YYYY/MM/DD/HH/batch-{seq:08d}.json`, one file per hour its events fall in
    (`landing_hour`), then saving the state. An API that answers `has_more` with the cursor it
    was asked for has that batch landed once, then fails the run (not retried)."""
    _remove_staging(landing)
    started = time.monotonic()
    cursor, seq = read_state(landing)
    batches, events, hours, before_first, implausible = 0, 0, set(), 0, 0
    while True:
        batch = api.fetch(cursor)
        if not batch.events:  # caught up: nothing to land, no batch number spent
            stopped = CAUGHT_UP
            break
        received = int(time.time())
        sent = {"sent_at": batch.sent_at}
        if not _plausible(batch.sent_at, received):
            sent = {"sent_at": received, "server_sent_at": batch.sent_at}
            implausible += 1
            warn(
                f"batch {seq} (cursor {cursor or '(start)'!r}): sent_at "
                f"{shortened(batch.sent_at)} of the events API at {api.url} is not a plausible "
                f"time; landed as sent when received ({received}), the server's value kept as "
                "server_sent_at"
            )
        by_hour = _land(landing, seq, cursor, batch, sent)
        _write_json(landing, STATE_FILE, {"cursor": batch.next_cursor, "batches": seq + 1})
        log(
            f"batch {seq}: {len(batch.events)} events into {len(by_hour)} hour folder(s), "
            f"cursor {cursor or '(start)'} → {batch.next_cursor}"
        )
        asked, cursor, seq = cursor, batch.next_cursor, seq + 1
        batches, events = batches + 1, events + len(batch.events)
        hours.update(by_hour)
        before_first += sum(map(_before_first_partition, batch.events))
        if not batch.has_more:
            stopped = CAUGHT_UP
            break
        if batch.next_cursor == (asked or ""):
            raise dg.Failure(
                f"The events API at {api.request_url(asked)} answered has_more with the "
                f"cursor it was asked for, {asked or '(start)'!r}: it would serve the same batch "
                f"forever. Batch {seq - 1} was landed once and the state saved; the next run "
                "asks for that cursor again. Fix the API, or set the cursor in "
                f"{landing.describe(STATE_FILE)}",
                allow_retries=False,
            )
        if batches >= api.max_batches_per_run:
            stopped = MAX_BATCHES
            break
        if time.monotonic() - started >= api.max_seconds_per_run:
            stopped = MAX_SECONDS
            break
    if stopped != CAUGHT_UP:
        warn(
            f"Stopped after {batches} batch(es) in {time.monotonic() - started:.0f} s "
            f"({stopped}: at most {api.max_batches_per_run} batches and "
            f"{api.max_seconds_per_run:g} s a run); the API has more: the next run continues "
            f"from cursor {cursor!r}"
        )
    return Landed(batches, events, sorted(hours), cursor, stopped, before_first, implausible)
