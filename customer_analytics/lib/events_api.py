"""The events API client and the poller that lands its batches (docs/web.md).

The poller is restartable: each batch's files are written under names fixed by its sequence
number, and only then the state (next cursor, batches landed). A run killed in between fetches
the same cursor again as the same batch and overwrites the same files.
"""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import dagster as dg
import pyarrow.fs as pafs

from customer_analytics.engines.storage import STAGING_NAME, Location
from customer_analytics.lib.landing import WEB_EVENTS, LandingZone
from customer_analytics.lib.metadata import shortened
from customer_analytics.rules.web import landing_hour

STATE_FILE = f"{WEB_EVENTS}/.poller_state.json"
# No wait between attempts is longer, Retry-After included.
MAX_BACKOFF_SECONDS = 30.0


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


def _batch(body: bytes) -> Batch:
    """The protocol's answer, checked; a ValueError says what is wrong."""
    document = json.loads(body.decode("utf-8"))
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    events, cursor = document.get("events"), document.get("next_cursor")
    has_more, sent_at = document.get("has_more"), document.get("sent_at")
    if not isinstance(events, list):
        raise ValueError("events is not a list")
    if not isinstance(cursor, str):
        raise ValueError("next_cursor is not a string")
    if not isinstance(has_more, bool):
        raise ValueError("has_more is not true or false")
    if isinstance(sent_at, bool) or not isinstance(sent_at, int):
        raise ValueError("sent_at is not an integer")
    return Batch(events, cursor, has_more, sent_at)


class EventsApi(dg.ConfigurableResource):
    """The clickstream's events API (EVENTS_API_URL): pages of events from a cursor."""

    url: str
    batch_size: int = 500
    max_attempts: int = 6
    # Wait before the second attempt; it doubles after each, up to MAX_BACKOFF_SECONDS.
    backoff_seconds: float = 0.5
    timeout_seconds: float = 10

    def request_url(self, cursor: str | None) -> str:
        query = {"limit": self.batch_size} | ({"cursor": cursor} if cursor else {})
        return f"{self.url.rstrip('/')}/events?{urllib.parse.urlencode(query)}"

    def fetch(self, cursor: str | None) -> Batch:
        """The batch after `cursor` (None or "": from the start). Connection errors, timeouts,
        429 and 5xx are retried with backoff; any other answer that is not the protocol's is
        a `dg.Failure` at once."""
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
        try:
            with urllib.request.urlopen(address, timeout=self.timeout_seconds) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            text = shortened(error.read().decode("utf-8", "replace"))
            if error.code == 429 or error.code >= 500:
                retry_after = _retry_after(error.headers.get("Retry-After"))
                raise _Transient(f"HTTP {error.code}: {text}", retry_after) from error
            raise dg.Failure(
                f"{what} refused cursor {cursor or '(start)'!r}: HTTP {error.code}: {text}",
                allow_retries=False,
            ) from error
        except (urllib.error.URLError, OSError) as error:  # refused, reset, timed out
            raise _Transient(f"{type(error).__name__}: {error}") from error
        try:
            return _batch(body)
        except ValueError as error:  # bad UTF-8 and bad JSON are ValueErrors too
            raise dg.Failure(
                f"{what} did not answer the protocol's JSON ({error}): "
                f"{shortened(body.decode('utf-8', 'replace'))}",
                allow_retries=False,
            ) from error


def read_state(landing: Location) -> tuple[str | None, int]:
    """(cursor to fetch next, batches landed) of the poller; (None, 0) before the first."""
    if not landing.exists(STATE_FILE):
        return None, 0
    state = json.loads(landing.read_buffer(STATE_FILE).to_pybytes())
    return state["cursor"], int(state["batches"])


def _write_json(landing: Location, relative: str, document: dict) -> None:
    data = json.dumps(document, ensure_ascii=False).encode("utf-8")
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


def land_batches(
    api: EventsApi,
    landing: Location,
    *,
    max_batches: int | None = None,
    log: Callable[[str], object] = print,
) -> Landed:
    """Fetches batches from the saved cursor until the API has no more (or `max_batches`),
    landing each as `web_events/YYYY/MM/DD/HH/batch-{seq:08d}.json`, one file per hour its
    events fall in (`landing_hour`), then saving the state."""
    _remove_staging(landing)
    cursor, seq = read_state(landing)
    batches, events, hours = 0, 0, set()
    while max_batches is None or batches < max_batches:
        batch = api.fetch(cursor)
        if not batch.events:  # caught up: nothing to land, no batch number spent
            break
        by_hour: dict[datetime, list[int]] = {}
        for position, event in enumerate(batch.events):
            hour = landing_hour(event, batch.sent_at).replace(tzinfo=None)
            by_hour.setdefault(hour, []).append(position)
        for hour, positions in sorted(by_hour.items()):
            document = {
                "batch": seq,
                "cursor": cursor or "",
                "sent_at": batch.sent_at,
                "positions": positions,
                "events": [batch.events[i] for i in positions],
            }
            _write_json(
                landing, f"{LandingZone.web_hour_folder(hour)}/batch-{seq:08d}.json", document
            )
        _write_json(landing, STATE_FILE, {"cursor": batch.next_cursor, "batches": seq + 1})
        log(
            f"batch {seq}: {len(batch.events)} events into {len(by_hour)} hour folder(s), "
            f"cursor {cursor or '(start)'} → {batch.next_cursor}"
        )
        cursor, seq = batch.next_cursor, seq + 1
        batches, events = batches + 1, events + len(batch.events)
        hours.update(by_hour)
        if not batch.has_more:
            break
    return Landed(batches, events, sorted(hours), cursor)
