"""The shape every raw asset shares: read each day, validate it, and emit the valid rows and
the quarantine as two outputs with the counts a data engineer looks at first."""

import time
from collections.abc import Callable, Iterator
from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.engines.arrow_sql import ParsedDay


def value_counts(table: pa.Table, column: str) -> dict[str, int]:
    if not table.num_rows:
        return {}
    return {
        str(item["values"]): item["counts"] for item in pc.value_counts(table[column]).to_pylist()
    }


def validated_days(
    context: dg.AssetExecutionContext,
    days: list[date],
    parse_day: Callable[[date], ParsedDay],
    *,
    valid_output: str,
    quarantine_output: str,
    reasons: tuple[str, ...],
) -> Iterator[dg.Output]:
    valid, quarantine = [], []
    for day in days:
        started = time.perf_counter()
        parsed = parse_day(day)
        valid.append(parsed.valid)
        quarantine.append(parsed.quarantine)
        context.log.info(
            f"{day}: {parsed.valid.num_rows + parsed.quarantine.num_rows:,} rows, "
            f"{parsed.valid.num_rows:,} valid, {parsed.quarantine.num_rows:,} quarantined "
            f"({time.perf_counter() - started:.1f} s)"
        )
    valid_rows, rejected = pa.concat_tables(valid), pa.concat_tables(quarantine)
    counted = value_counts(rejected, "reason")
    by_reason = {reason: counted.get(reason, 0) for reason in reasons}
    total = valid_rows.num_rows + rejected.num_rows
    yield dg.Output(
        valid_rows,
        output_name=valid_output,
        metadata={
            "input_rows": total,
            "quarantined": rejected.num_rows,
            "quarantined_share": rejected.num_rows / total if total else 0.0,
            **{f"quarantined/{reason}": count for reason, count in by_reason.items()},
        },
    )
    yield dg.Output(
        rejected,
        output_name=quarantine_output,
        metadata={"by_reason": dg.MetadataValue.json(by_reason)},
    )
