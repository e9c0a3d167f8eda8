"""The declarative-automation sensor of the whole graph: it evaluates every asset's
AutomationCondition. Each domain's sensors of new raw files are in its own folder."""

import dagster as dg

automation = dg.AutomationConditionSensorDefinition(
    "automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates each asset's AutomationCondition: the newest day every night, "
    "downstream partitions once their inputs are complete.",
)
