"""Data-validation rules as Dagster asset checks, evaluated inside the asset that owns the data.

Each check runs on the table the asset is about to store, before it is stored: an ERROR check
that fails is blocking — the asset raises after reporting every result, so the bad data never
reaches the lake or the warehouse and nothing downstream runs on it. A WARN check only reports.

A check is given one subject: a small frozen dataclass, defined beside the checks of its domain,
that holds what the checks of one asset look at, so a check's signature says what it may use.
"""

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import dagster as dg
import pyarrow as pa

from customer_analytics.settings import CheckThresholds

__all__ = ["ERROR", "WARN", "Check", "CheckThresholds", "Outcome", "check_specs", "run_checks"]

ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN


@dataclass(frozen=True)
class Outcome:
    passed: bool
    metadata: dict
    # A blocking check may fail as WARN only, e.g. the volume check warns on a low day but
    # blocks an empty one.
    severity: dg.AssetCheckSeverity | None = None


# Contravariant: a check of any subject with a warehouse is a check of each such subject.
Subject = TypeVar("Subject", contravariant=True)


@dataclass(frozen=True)
class Check(Generic[Subject]):
    name: str
    description: str
    severity: dg.AssetCheckSeverity  # ERROR checks are blocking
    evaluate: Callable[[Subject], Outcome]


def check_specs(asset: str, checks: Sequence[Check]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            check.name, asset=asset, description=check.description, blocking=check.severity == ERROR
        )
        for check in checks
    ]


def run_checks(
    context: dg.AssetExecutionContext,
    asset: str,
    checks: Sequence[Check[Subject]],
    subject: Subject,
) -> Iterator[dg.AssetCheckResult]:
    """Yields every check's result on `subject`, then raises if a blocking one failed."""
    blocked = {}
    selected = context.selected_asset_check_keys
    for check in checks:
        outcome = check.evaluate(subject)
        severity = outcome.severity or check.severity
        if not outcome.passed:
            figures = {key: getattr(v, "value", v) for key, v in outcome.metadata.items()}
            context.log.log(
                "ERROR" if severity == ERROR else "WARNING",
                f"Check {asset}.{check.name} failed ({severity.value}): {figures}",
            )
            if severity == ERROR:
                blocked[check.name] = figures
        if dg.AssetCheckKey(dg.AssetKey(asset), check.name) not in selected:
            # Left out of the selection: still evaluated, and still blocking, but not reported.
            continue
        yield dg.AssetCheckResult(
            asset_key=asset,
            check_name=check.name,
            passed=outcome.passed,
            severity=severity,
            metadata={"partitions": _partitions(context), **outcome.metadata},
            description=check.description,
        )
    if blocked:
        raise dg.Failure(
            f"{asset} not stored: blocking check(s) failed: {', '.join(blocked)}",
            # The failing figures on the failure too, where the run's error is read.
            metadata={
                name: dg.MetadataValue.json(json.loads(json.dumps(figures, default=str)))
                for name, figures in blocked.items()
            },
            allow_retries=False,
        )


def _partitions(context: dg.AssetExecutionContext) -> str:
    if not (context.has_partition_key or context.has_partition_key_range):
        return ""
    keys = context.partition_key_range
    return keys.start if keys.start == keys.end else f"{keys.start}...{keys.end}"


class WarehouseColumns(Protocol):
    """What the schema check asks of a warehouse (`io_managers.warehouse.Warehouse`)."""

    def columns(self, table: str) -> list[str] | None: ...


class HasWarehouse(Protocol):
    """A subject whose asset stores its table in the warehouse."""

    @property
    def warehouse(self) -> WarehouseColumns: ...


def warehouse_schema_check(table: str, schema: pa.Schema) -> Check[HasWarehouse]:
    """The warehouse table, if it exists, has exactly the columns the asset writes: a column
    renamed, added or dropped upstream is caught before it breaks the load or its readers."""

    def evaluate(subject: HasWarehouse) -> Outcome:
        existing = subject.warehouse.columns(table)
        if existing is None:
            return Outcome(passed=True, metadata={"table": table, "exists": False})
        expected = list(schema.names)
        return Outcome(
            passed=existing == expected,
            metadata={
                "table": table,
                "missing_in_warehouse": dg.MetadataValue.json(
                    [c for c in expected if c not in existing]
                ),
                "unexpected_in_warehouse": dg.MetadataValue.json(
                    [c for c in existing if c not in expected]
                ),
                "order_differs": sorted(existing) == sorted(expected) and existing != expected,
            },
        )

    return Check(
        "warehouse_schema",
        f"The warehouse table {table} has the columns of the asset's schema, in order.",
        ERROR,
        evaluate,
    )
