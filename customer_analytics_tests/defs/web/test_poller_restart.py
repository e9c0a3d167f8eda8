"""The poller killed mid-run and restarted lands every event of the shipped server exactly
once: both are real processes, the server slowed down so that the kill falls mid-stream."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from customer_analytics.defs.web.sample_data import event_stream
from customer_analytics.engines.storage import STAGING_NAME

BATCH = 50
SERVER = ["--seed", "42", "--start", "2022-04-01T22:00", "--hours", "6"]
POLLER = """
import sys
from customer_analytics.engines.storage import Location
from customer_analytics.defs.web.events_api import EventsApi, land_batches
land_batches(EventsApi(url=sys.argv[1], batch_size={batch}), Location(sys.argv[2]))
"""


def _start_server() -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "customer_analytics.defs.web.sample_events_api",
            "--port",
            "0",
            *SERVER,
            "--delay-ms",
            "100",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return server, line.split()[-1]


def _poller(url: str, root: Path) -> subprocess.Popen:
    code = POLLER.format(batch=BATCH)
    return subprocess.Popen([sys.executable, "-c", code, url, str(root)], stdout=subprocess.DEVNULL)


def _landed(root: Path) -> list[tuple[int, int, str, str]]:
    """(batch, position, cursor, event as canonical JSON) of every landed event."""
    rows = []
    for path in (root / "web_events").rglob("batch-*.json"):
        batch = json.loads(path.read_text(encoding="utf-8"))
        for position, event in zip(batch["positions"], batch["events"], strict=True):
            rows.append(
                (batch["batch"], position, batch["cursor"], json.dumps(event, sort_keys=True))
            )
    return sorted(rows)


def test_a_killed_poller_restarts_and_lands_every_event_once(tmp_path):
    stream = event_stream(42, datetime(2022, 4, 1, 22, tzinfo=UTC), 6)
    expected = sorted(
        (
            i // BATCH,
            i % BATCH,
            str(i // BATCH * BATCH) if i >= BATCH else "",
            json.dumps(e, sort_keys=True),
        )
        for i, e in enumerate(stream)
    )
    server, url = _start_server()
    try:
        poller = _poller(url, tmp_path)
        deadline = time.monotonic() + 15
        while len(list(tmp_path.rglob("batch-*.json"))) < 5:
            assert poller.poll() is None, "the poller ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(poller.pid, signal.SIGKILL)
        poller.wait()
        state = json.loads((tmp_path / "web_events/.poller_state.json").read_text())
        assert 0 < state["batches"] < len(stream) // BATCH  # killed mid-stream
        restarted = _poller(url, tmp_path)
        assert restarted.wait(timeout=30) == 0
    finally:
        server.kill()
        server.wait()
    assert _landed(tmp_path) == expected
    batches = -(-len(stream) // BATCH)
    assert json.loads((tmp_path / "web_events/.poller_state.json").read_text()) == {
        "cursor": str(len(stream)),
        "batches": batches,
    }
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and STAGING_NAME.fullmatch(p.name)]
    assert leftovers == []
