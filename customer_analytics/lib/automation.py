"""When assets run by themselves: one declarative policy (AutomationCondition) for the graph,
a sensor for files that land late, and retries for the steps that touch the network."""

import json

import dagster as dg

from customer_analytics.lib.landing import LandingZone

# The export of a day lands overnight; the newest daily partition runs after it.
NIGHTLY = "30 2 * * *"
newest_day = dg.AutomationCondition.on_cron(NIGHTLY)
# Downstream of a partition that changed, once every partition it needs exists: a month runs
# only when all of its days are materialized.
when_inputs_ready = dg.AutomationCondition.eager()

network_retry = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def new_files_sensor(
    name: str, log: str, job, partitions: dg.PartitionsDefinition
) -> dg.SensorDefinition:
    """Requests the partition of each day file (or folder) that appears or changes in the
    landing zone, once: the cursor remembers the version of every day it has seen."""

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Runs {job.name} for each day of {log}/ that lands or is rewritten.",
    )
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
        seen = json.loads(context.cursor) if context.cursor else {}
        arrived = landing.arrived(log)
        requests = [
            dg.RunRequest(run_key=f"{log}:{day}:{version}", partition_key=day)
            for day, version in sorted(arrived.items())
            if seen.get(day) != version and partitions.has_partition_key(day)
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(arrived, sort_keys=True))

    return _sensor
