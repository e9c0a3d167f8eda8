"""Alerts on failed asset checks, read from the instance's event log."""

import os

import dagster as dg

from customer_analytics.lib.alerts import AlertWebhook, check_failure_message

BATCH = 200


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts each new failed asset check once to ALERT_WEBHOOK_URL (Slack-compatible "
    "JSON), or logs it when the variable is unset.",
)
def check_failure_alerts(context: dg.SensorEvaluationContext, alerts: AlertWebhook):
    cursor = int(context.cursor) if context.cursor else None
    if cursor is None:
        # A new deployment announces what fails from now on, not the whole history.
        latest = context.instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=1
        )
        context.update_cursor(str(latest[0].storage_id if latest else 0))
        return dg.SkipReason("Started watching check evaluations")

    records = context.instance.get_event_records(
        dg.EventRecordsFilter(
            event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=cursor
        ),
        limit=BATCH,
        ascending=True,
    )
    ui_url = os.environ.get("DAGSTER_UI_URL", "http://127.0.0.1:3000")
    sent = 0
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed:
            message = check_failure_message(evaluation, record.event_log_entry.run_id, ui_url)
            try:
                alerts.post(message, context.log)
            except dg.Failure as undelivered:
                # The cursor stays just before this alert: the next tick retries it, and
                # nothing already delivered is sent again.
                context.log.error(str(undelivered))
                return dg.SkipReason(f"{sent} alert(s) sent, then: {undelivered}")
            sent += 1
        context.update_cursor(str(record.storage_id))
    return dg.SkipReason(f"{sent} alert(s) sent for {len(records)} new check evaluation(s)")
