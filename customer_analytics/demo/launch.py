"""One step of the demo: `dg launch` with its output in a log file, then one line of figures
read back from the instance."""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

DG = Path(sys.executable).with_name("dg")
TAIL_LINES = 25


def _span(partition: str | None, partition_range: str | None) -> tuple[list[str], str]:
    if partition_range:
        start, end = partition_range.split("...")
        return ["--partition-range", partition_range], f"{start}...{end}"
    if partition:
        return ["--partition", partition], partition
    return [], "unpartitioned"


def _figures(instance: dg.DagsterInstance, run_id: str) -> str:
    """Rows written per asset; a range run records the same metadata on each of its partitions."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=10_000
    ).records
    partitions: dict[str, int] = {}
    metadata: dict[str, dict] = {}
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        asset = materialization.asset_key.to_user_string()
        partitions[asset] = partitions.get(asset, 0) + 1
        metadata.setdefault(asset, {k: v.value for k, v in materialization.metadata.items()})
    parts = []
    for asset, values in metadata.items():
        text = f"{asset} {values.get('dagster/row_count', 0):,} rows"
        if "input_rows" in values:
            text += f" of {values['input_rows']:,} read"
        parts.append(text)
    days = max(partitions.values(), default=0)
    return f"{days} partition(s); " + ", ".join(parts)


def launch(assets: str, partition: str | None, partition_range: str | None) -> int:
    span_args, span = _span(partition, partition_range)
    with dg.DagsterInstance.get() as instance:
        logs = Path(instance.root_directory) / "logs" / "demo"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{assets.replace(',', '+')}-{span.replace('...', '_')}.log"
        started = time.monotonic()
        with log.open("w") as output:
            finished = subprocess.run(
                [str(DG), "launch", "--assets", assets, *span_args],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # dg checks that it runs in the project's own virtual environment.
                env={**os.environ, "VIRTUAL_ENV": sys.prefix},
            )
        elapsed = time.monotonic() - started
        runs = instance.get_runs(limit=1)
        succeeded = finished.returncode == 0 and runs and runs[0].is_success
        if not succeeded:
            tail = log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
            print(
                f"FAILED {assets} {span} after {elapsed:.0f} s; the end of {log}:", file=sys.stderr
            )
            print("\n".join(tail), file=sys.stderr)
            return 1
        print(f"ok  {assets} {span}: {_figures(instance, runs[0].run_id)} ({elapsed:.1f} s)")
    return 0
