"""When assets run by themselves: one declarative policy (AutomationCondition) for the graph,
the deadline of the daily assets, and a sensor for files that land late."""

import json
from collections.abc import Callable
from datetime import timedelta

import dagster as dg

from customer_analytics.lib.landing import LandingZone

# The export of a day lands overnight; the newest daily partition runs after it.
NIGHTLY = "30 2 * * *"
newest_day = dg.AutomationCondition.on_cron(NIGHTLY)
# Downstream of a partition that changed, once every partition it needs exists: a month runs
# only when all of its days are materialized.
when_inputs_ready = dg.AutomationCondition.eager()
# The nightly export lands by 02:00 UTC and its run starts at 02:30: a daily asset that has not
# been materialized between 02:00 and 06:00 is late, and the UI and the alert sensor say so.
nightly_deadline = dg.FreshnessPolicy.cron(
    deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=4)
)


def new_files_sensor(
    name: str,
    folder: str,
    partition_of: Callable[[str], str | None],
    job,
    partitions: dg.PartitionsDefinition,
) -> dg.SensorDefinition:
    """Requests the partition of each file of `folder` (`partition_of` tells its partition key,
    None for a file that is not the log's) that appears or changes in the landing zone, once:
    the cursor remembers the version of every partition it has seen.

    Its first tick only records what is already there: switching it on over a landing zone
    full of history launches nothing (backfill history from the UI or the CLI instead)."""

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Runs {job.name} for each partition of {folder}/ that lands or is rewritten.",
    )
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
        arrived = landing.arrived(folder, partition_of)
        if context.cursor is None:
            return dg.SensorResult(
                skip_reason=f"Recorded the {len(arrived)} partition(s) of {folder}/ already present; "
                "requesting those that land or change from now on",
                cursor=json.dumps(arrived, sort_keys=True),
            )
        seen = json.loads(context.cursor)
        requests = [
            dg.RunRequest(run_key=f"{folder}:{key}:{version}", partition_key=key)
            for key, version in sorted(arrived.items())
            if seen.get(key) != version and partitions.has_partition_key(key)
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(arrived, sort_keys=True))

    return _sensor
