"""Where failed checks are announced: a Slack-compatible webhook, or the log when none is set.

Open-source Dagster does not fail a run for a failed check, and run-failure sensors stay silent
about it (dagster-io/dagster#29896), so a sensor reads the check evaluations themselves, and the
freshness state changes that the daemon records.
"""

import json
import random
import time
from collections.abc import Mapping

import dagster as dg
import requests

SEVERITY_ICON = {"ERROR": ":red_circle:", "WARN": ":large_yellow_circle:"}


class AlertWebhook(dg.ConfigurableResource):
    """Posts alerts to `url` (ALERT_WEBHOOK_URL, kept out of logs: webhook URLs are secrets)."""

    url: str | None = None
    ui_url: str = "http://127.0.0.1:3000"  # DAGSTER_UI_URL: the base of the links in alerts
    max_attempts: int = 4
    backoff_seconds: float = 1.0
    timeout_seconds: float = 10.0

    def post(self, payload: Mapping, log: dg.DagsterLogManager) -> None:
        """Delivers one alert, retrying 5xx, 429 and network errors with backoff and jitter."""
        if not self.url:
            log.warning(f"ALERT (no ALERT_WEBHOOK_URL set): {payload['text']}")
            return
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = requests.post(self.url, json=payload, timeout=self.timeout_seconds)
                if response.status_code < 300:
                    return
                retryable = response.status_code == 429 or response.status_code >= 500
                problem = f"HTTP {response.status_code}"
            except requests.RequestException as error:
                retryable, problem = True, type(error).__name__
            if not retryable or attempt == self.max_attempts:
                raise dg.Failure(
                    f"Alert webhook refused the alert after {attempt} attempt(s): {problem}"
                )
            log.warning(f"Alert webhook attempt {attempt} failed ({problem}); retrying")
            time.sleep(self.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))


def _figures(metadata: Mapping[str, dg.MetadataValue]) -> str:
    shown = {
        key: value.value if hasattr(value, "value") else value
        for key, value in metadata.items()
        if key != "partitions"
    }
    return json.dumps(shown, default=str)[:1500]


def _message(text: str, link: str, link_text: str, **fields) -> dict:
    """A Slack message: plain `text` for any webhook, `blocks` for Slack, and the fields."""
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|{link_text}>"}]},
        ],
        **fields,
    }


def check_failure_message(entry: dg.EventLogEntry, ui_url: str) -> dict | None:
    """The alert for a failed check evaluation; None for a check that passed."""
    evaluation = entry.dagster_event.event_specific_data
    if evaluation.passed:
        return None
    severity = evaluation.severity.value
    asset = evaluation.asset_key.to_user_string()
    partitions = evaluation.metadata.get("partitions")
    partition = (partitions.value if partitions else None) or evaluation.partition or "-"
    link = f"{ui_url.rstrip('/')}/runs/{entry.run_id}"
    text = (
        f"{SEVERITY_ICON.get(severity, '')} Check {asset}.{evaluation.check_name} failed "
        f"({severity}) for {partition}: {_figures(evaluation.metadata)}"
    )
    return _message(
        text,
        link,
        "Open the run in Dagster",
        asset=asset,
        check=evaluation.check_name,
        severity=severity,
        partition=partition,
        run_url=link,
    )


STALE_STATES = {"WARN": "WARN", "FAIL": "ERROR"}


def freshness_message(entry: dg.EventLogEntry, ui_url: str) -> dict | None:
    """The alert for an asset whose freshness turns WARN or FAIL; None for any other change."""
    change = entry.dagster_event.event_specific_data
    state = change.new_state.value
    if state not in STALE_STATES:
        return None
    asset = change.key.to_user_string()
    severity = STALE_STATES[state]
    link = f"{ui_url.rstrip('/')}/assets/{'/'.join(change.key.path)}"
    text = (
        f"{SEVERITY_ICON[severity]} {asset} is stale (freshness {state}, was "
        f"{change.previous_state.value}): not materialized by its deadline; the newest export "
        "may be late"
    )
    return _message(
        text,
        link,
        "Open the asset in Dagster",
        asset=asset,
        check="freshness",
        severity=severity,
        partition="-",
        asset_url=link,
    )
