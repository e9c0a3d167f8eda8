"""The shipped events server: serves the sample clickstream (`sample_data.web.event_stream`) over
the events API protocol (docs/web.md).

    python -m customer_analytics.defs.web.sample_events_api --port 8765 [--host 127.0.0.1]
        [--seed 42] [--start 2022-04-01T00:00] [--hours 48] [--sessions-per-hour 20]
        [--customers 500] [--delay-ms 0] [--fail-every 0] [--write-crm DIR]

GET /events?cursor=<cursor>&limit=<n> answers {"events", "next_cursor", "has_more", "sent_at"};
the cursor is the offset into the stream as a decimal string (opaque to clients), empty or
omitted from the start; limit is 1 to MAX_LIMIT, DEFAULT_LIMIT when omitted. A bad cursor or
limit is a 400 with {"error": ...}. `sent_at` is the latest event time delivered so far (of the
events with a readable timestamp, so late ones never move it back) plus SEND_DELAY_SECONDS.

--port 0 picks a free port; the line `listening on http://HOST:PORT` is printed once the server
accepts requests. --fail-every N answers every Nth request with 503 and `Retry-After: 0`;
--delay-ms sleeps before each answer. --write-crm DIR also writes DIR/crm/crm_customers.csv for
the same seed and customers (`python -m customer_analytics.sample_data` writes it too).

In-process (tests): `with EventsServer(stream).running() as server: server.url`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from customer_analytics.defs.web.rules import event_time
from customer_analytics.defs.web.sample_data import (
    CRM_CUSTOMERS_DEFAULT,
    HOURS_DEFAULT,
    SESSIONS_PER_HOUR_DEFAULT,
    crm_customers,
    event_stream,
    write_crm,
)

DEFAULT_LIMIT = 500
MAX_LIMIT = 10_000
# An API gathers events for a moment before it hands them out.
SEND_DELAY_SECONDS = 30


def sent_times(stream: list, start: datetime) -> list[int]:
    """sent_at of a batch that ends after item i, for every i: the latest readable event time
    up to it (the start before any) plus SEND_DELAY_SECONDS, in whole seconds."""
    latest = start.timestamp()
    times = []
    for item in stream:
        happened = event_time(item.get("timestamp")) if isinstance(item, dict) else None
        if happened is not None:
            latest = max(latest, happened.timestamp())
        times.append(int(latest) + SEND_DELAY_SECONDS)
    return times


class EventsServer:
    """A stream served over HTTP on a thread (`running`) or in the foreground (`serve_forever`)."""

    def __init__(
        self,
        stream: list,
        *,
        start: datetime | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_ms: int = 0,
        fail_every: int = 0,
    ):
        self.stream = stream
        self.start = start or datetime(2000, 1, 1, tzinfo=UTC)
        self.sent = sent_times(stream, self.start)
        self.delay_ms, self.fail_every = delay_ms, fail_every
        self._requests = itertools.count(1)
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, path: str, query: str) -> tuple[int, dict, dict]:
        """(status, extra headers, JSON body) of one request."""
        with self._lock:
            number = next(self._requests)
        if self.fail_every and number % self.fail_every == 0:
            return 503, {"Retry-After": "0"}, {"error": f"request {number} fails on purpose"}
        if path.rstrip("/") != "/events":
            return 404, {}, {"error": f"no such path {path!r}; the API serves /events"}
        params = parse_qs(query, keep_blank_values=True)
        cursor = params.get("cursor", [""])[-1]
        limit = params.get("limit", [str(DEFAULT_LIMIT)])[-1]
        if not (cursor == "" or (cursor.isascii() and cursor.isdigit())) or (
            int(cursor or 0) > len(self.stream)
        ):
            return 400, {}, {"error": f"bad cursor {cursor[:100]!r}"}
        if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MAX_LIMIT):
            return 400, {}, {"error": f"limit must be 1 to {MAX_LIMIT}, got {limit[:100]!r}"}
        offset = int(cursor or 0)
        end = min(offset + int(limit), len(self.stream))
        sent_at = self.sent[end - 1] if end else int(self.start.timestamp()) + SEND_DELAY_SECONDS
        body = {
            "events": self.stream[offset:end],
            "next_cursor": str(end),
            "has_more": end < len(self.stream),
            "sent_at": sent_at,
        }
        return 200, {}, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if server.delay_ms:
                    time.sleep(server.delay_ms / 1000)
                parts = urlsplit(self.path)
                status, headers, body = server.answer(parts.path, parts.query)
                payload = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass  # a poll every few seconds would flood the terminal

        return Handler

    def serve_forever(self) -> None:
        with self.httpd:
            self.httpd.serve_forever()

    @contextlib.contextmanager
    def running(self) -> Iterator[EventsServer]:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join()


def _at_least(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m customer_analytics.defs.web.sample_events_api",
        description="Serve the sample clickstream over the events API protocol.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument("--port", type=_at_least(0), default=8765, help="0: a free port")
    parser.add_argument("--seed", type=_at_least(0), default=42, help="default: 42")
    parser.add_argument(
        "--start", type=_utc, default=_utc("2022-04-01T00:00"), help="first hour, UTC"
    )
    parser.add_argument("--hours", type=_at_least(1), default=HOURS_DEFAULT)
    parser.add_argument("--sessions-per-hour", type=_at_least(1), default=SESSIONS_PER_HOUR_DEFAULT)
    parser.add_argument(
        "--customers",
        type=_at_least(1),
        default=CRM_CUSTOMERS_DEFAULT,
        help="CRM customers the sessions belong to",
    )
    parser.add_argument("--delay-ms", type=_at_least(0), default=0, help="sleep per request")
    parser.add_argument(
        "--fail-every", type=_at_least(0), default=0, help="every Nth request is a 503"
    )
    parser.add_argument("--write-crm", type=Path, help="also write DIR/crm/crm_customers.csv")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.write_crm:
        write_crm(args.write_crm, crm_customers(args.seed, args.customers))
    stream = event_stream(args.seed, args.start, args.hours, args.sessions_per_hour, args.customers)
    server = EventsServer(
        stream,
        start=args.start,
        host=args.host,
        port=args.port,
        delay_ms=args.delay_ms,
        fail_every=args.fail_every,
    )
    print(f"listening on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
