"""The alert sensor against a real Dagster instance and a local server standing in for Slack."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from customer_analytics.defs.alerts import check_failure_alerts
from customer_analytics.lib.alerts import AlertWebhook
from customer_analytics_tests.fixtures.instances import memory_folder


class FakeSlack:
    """Records every POST; answers the scripted statuses first, then 200."""

    def __init__(self, statuses: list[int]):
        self.statuses = list(statuses)
        self.received: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = fake.statuses.pop(0) if fake.statuses else 200
                fake.received.append((status, body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def delivered(self) -> list[dict]:
        return [body for status, body in self.received if status == 200]


@pytest.fixture
def instance():
    """A real instance with the consolidated SQLite event log of `make dev` (the alert sensor
    queries check evaluations across runs), in memory as the suite's others."""
    with memory_folder() as home:
        storage = {
            "module": "dagster._core.storage.event_log",
            "class": "ConsolidatedSqliteEventLogStorage",
            "config": {"base_dir": str(home / "events")},
        }
        overrides = {"event_log_storage": storage}
        with dg.instance_for_test(overrides, temp_dir=str(home)) as test_instance:
            yield test_instance


@pytest.fixture
def slack():
    fakes = []

    def start(statuses=()):
        fakes.append(FakeSlack(list(statuses)))
        return fakes[-1]

    yield start
    for fake in fakes:
        fake.server.shutdown()


@dg.asset(
    check_specs=[
        dg.AssetCheckSpec("rows_present", asset="orders", blocking=True),
        dg.AssetCheckSpec("few_refunds", asset="orders"),
        dg.AssetCheckSpec("ids_unique", asset="orders"),
    ]
)
def orders():
    yield dg.Output(1)
    yield dg.AssetCheckResult(check_name="ids_unique", passed=True)
    yield dg.AssetCheckResult(
        check_name="few_refunds", passed=False, severity=dg.AssetCheckSeverity.WARN,
        metadata={"refund_share": 0.4},
    )  # fmt: skip
    yield dg.AssetCheckResult(check_name="rows_present", passed=False, metadata={"rows": 0})


def _tick(instance, cursor, url):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"alerts": AlertWebhook(url=url, backoff_seconds=0.01)},
    )
    result = check_failure_alerts(context)
    return context.cursor, result


def test_each_new_failure_is_posted_once(slack, instance):
    hook = slack()
    cursor, _ = _tick(instance, None, hook.url)  # starts watching
    run_id = dg.materialize([orders], instance=instance, raise_on_error=False).run_id

    cursor, _ = _tick(instance, cursor, hook.url)
    assert [(a["check"], a["severity"]) for a in hook.delivered] == [
        ("few_refunds", "WARN"),
        ("rows_present", "ERROR"),
    ]
    warn = hook.delivered[0]
    assert warn["asset"] == "orders"
    assert '"refund_share": 0.4' in warn["text"]
    assert warn["run_url"].endswith(f"/runs/{run_id}")
    assert warn["blocks"][0]["text"]["text"] == warn["text"]

    _tick(instance, cursor, hook.url)
    assert len(hook.delivered) == 2


def test_a_server_error_is_retried(slack, instance):
    hook = slack(statuses=[500, 503])
    cursor, _ = _tick(instance, None, hook.url)
    dg.materialize([orders], instance=instance, raise_on_error=False)
    _tick(instance, cursor, hook.url)

    assert [status for status, _ in hook.received] == [500, 503, 200, 200]
    assert [a["check"] for a in hook.delivered] == ["few_refunds", "rows_present"]


def test_an_undeliverable_alert_is_retried_next_tick_without_repeating_the_others(slack, instance):
    hook = slack(statuses=[200, 500, 500, 500, 500])  # the second alert fails every attempt
    cursor, _ = _tick(instance, None, hook.url)
    dg.materialize([orders], instance=instance, raise_on_error=False)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"alerts": AlertWebhook(url=hook.url, backoff_seconds=0.01)},
    )
    result = check_failure_alerts(context)
    assert "after 4 attempt" in result.skip_message
    assert [a["check"] for a in hook.delivered] == ["few_refunds"]

    # The next tick starts after the delivered alert: only the failed one is sent again.
    _tick(instance, context.cursor, hook.url)
    assert [a["check"] for a in hook.delivered] == ["few_refunds", "rows_present"]


def _freshness_change(instance, asset: str, previous: str, new: str) -> None:
    # What the daemon's freshness evaluation records when a state changes.
    change = FreshnessStateChange(
        key=dg.AssetKey(asset),
        previous_state=FreshnessState(previous),
        new_state=FreshnessState(new),
        state_change_timestamp=1_656_720_000.0,
    )
    instance._report_runless_asset_event(asset_event=change)


def test_an_asset_that_turns_stale_is_posted_once_and_a_recovery_is_not(slack, instance):
    hook = slack()
    cursor, _ = _tick(instance, None, hook.url)
    _freshness_change(instance, "raw_log_content", "PASS", "FAIL")
    _freshness_change(instance, "daily_pivot", "PASS", "WARN")
    _freshness_change(instance, "raw_log_content", "FAIL", "PASS")

    cursor, _ = _tick(instance, cursor, hook.url)
    assert [(a["asset"], a["check"], a["severity"]) for a in hook.delivered] == [
        ("raw_log_content", "freshness", "ERROR"),
        ("daily_pivot", "freshness", "WARN"),
    ]
    stale = hook.delivered[0]
    assert "raw_log_content is stale (freshness FAIL, was PASS)" in stale["text"]
    assert stale["asset_url"] == "http://127.0.0.1:3000/assets/raw_log_content"

    _tick(instance, cursor, hook.url)
    assert len(hook.delivered) == 2
