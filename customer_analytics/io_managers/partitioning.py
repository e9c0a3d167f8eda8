"""How a stored table maps onto its asset's partitions.

Assets name the column that holds their partition in the definition metadata key
`partition_expr`, the convention of Dagster's database IO managers.
"""

import dagster as dg


def partition_column(context: dg.OutputContext | dg.InputContext) -> str:
    definition = context if isinstance(context, dg.OutputContext) else context.upstream_output
    column = (definition.definition_metadata or {}).get("partition_expr")
    if not column:
        raise dg.DagsterInvariantViolationError(
            f"{context.asset_key.to_user_string()} is partitioned but declares no "
            "'partition_expr' metadata naming its partition column"
        )
    return column


def partition_keys(context: dg.OutputContext | dg.InputContext) -> list[str] | None:
    """The partition keys handled by this step, or None for an unpartitioned asset."""
    return list(context.asset_partition_keys) if context.has_asset_partitions else None


def time_window(context: dg.OutputContext | dg.InputContext) -> tuple:
    """The first day of the step's partitions and the first day after them."""
    window = context.asset_partitions_time_window
    return window.start.date(), window.end.date()
