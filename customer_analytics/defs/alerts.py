"""Alerts on failed asset checks and on assets that missed their freshness deadline, read from
the instance's event log."""

import json

import dagster as dg

from customer_analytics.lib.alerts import AlertWebhook, check_failure_message, freshness_message

BATCH = 200

# What is watched, and how an event becomes an alert (None: nothing to announce).
FEEDS = {
    dg.DagsterEventType.ASSET_CHECK_EVALUATION: check_failure_message,
    dg.DagsterEventType.FRESHNESS_STATE_CHANGE: freshness_message,
}


def _latest(instance: dg.DagsterInstance, event_type: dg.DagsterEventType) -> int:
    latest = instance.get_event_records(dg.EventRecordsFilter(event_type=event_type), limit=1)
    return latest[0].storage_id if latest else 0


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts each new failed asset check, and each asset that turns stale (its "
    "freshness policy WARN or FAIL), once to ALERT_WEBHOOK_URL (Slack-compatible JSON), or "
    "logs it when the variable is unset.",
)
def check_failure_alerts(context: dg.SensorEvaluationContext, alerts: AlertWebhook):
    cursor = json.loads(context.cursor) if context.cursor else {}
    if not set(cursor) >= {feed.value for feed in FEEDS}:
        # A new deployment announces what fails from now on, not the whole history.
        for feed in FEEDS:
            cursor.setdefault(feed.value, _latest(context.instance, feed))
        context.update_cursor(json.dumps(cursor))
        return dg.SkipReason("Started watching check evaluations and freshness")

    sent, seen = 0, 0
    for feed, message_for in FEEDS.items():
        records = context.instance.get_event_records(
            dg.EventRecordsFilter(event_type=feed, after_cursor=cursor[feed.value]),
            limit=BATCH,
            ascending=True,
        )
        seen += len(records)
        for record in records:
            message = message_for(record.event_log_entry, alerts.ui_url)
            if message is not None:
                try:
                    alerts.post(message, context.log)
                except dg.Failure as undelivered:
                    # The cursor stays just before this alert: the next tick retries it, and
                    # nothing already delivered is sent again.
                    context.log.error(str(undelivered))
                    return dg.SkipReason(f"{sent} alert(s) sent, then: {undelivered}")
                sent += 1
            cursor[feed.value] = record.storage_id
            context.update_cursor(json.dumps(cursor))
    return dg.SkipReason(f"{sent} alert(s) sent for {seen} new event(s)")
