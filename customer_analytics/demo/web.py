"""The web steps of the demo: the shipped events server on a free port of this machine, the
poller pointed at it (EVENTS_API_URL), then the hours, a day of sessions and the month's
loyalty, each through `dg launch` as the other steps."""

import os

from customer_analytics.defs.web.sample_data import START_DEFAULT, event_stream
from customer_analytics.defs.web.sample_events_api import EventsServer
from customer_analytics.demo.launch import launch

SEED = 42
HOURS = 48  # two days: the first day's sessions across midnight are whole
STEPS = (
    ("web_event_batches", None, None),
    (
        "raw_web_events,web_quarantine,web_extra_columns",
        None,
        "2022-04-01-00:00...2022-04-02-23:00",
    ),
    ("web_sessions", "2022-04-01", None),
    ("web_sessions", "2022-04-02", None),
    ("crm_customers", None, None),
    ("customer_loyalty", "2022-04-01", None),
)


def web_demo() -> int:
    stream = event_stream(SEED, START_DEFAULT, HOURS)
    with EventsServer(stream, start=START_DEFAULT).running() as server:
        print(f"Serving {len(stream):,} sample events at {server.url} (EVENTS_API_URL)")
        os.environ["EVENTS_API_URL"] = server.url
        for assets, partition, partition_range in STEPS:
            if failed := launch(assets, partition, partition_range):
                return failed
    return 0
