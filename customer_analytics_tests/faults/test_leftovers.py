"""What a process killed mid-write (SIGKILL: no `finally` runs) leaves behind is removed by the
next write: the lake's staging files, and the TSV of a MySQL bulk load."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from customer_analytics.engines.storage import STALE_STAGING_SECONDS, Location
from customer_analytics.io_managers import mysql_warehouse
from customer_analytics.io_managers.mysql_warehouse import MySQLWarehouse
from customer_analytics.lib.lake import Lake

HOUR = 3600
APRIL = ("month", date(2022, 4, 1), date(2022, 5, 1))
SCHEMA = pa.schema(
    [pa.field("month", pa.date32(), nullable=False), pa.field("Contract", pa.string(), False)],
    metadata={"primary_key": "month,Contract"},
)


def _aged(path: Path, seconds: float) -> Path:
    """`path` (created if need be) as last written `seconds` ago."""
    if not path.exists():
        path.write_bytes(b"PAR1")
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def _run_and_get_killed(code: str, **env: str) -> None:
    """Runs `code` in a Python process of its own, which must end killed by SIGKILL."""
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr


def test_a_write_killed_midway_leaves_a_staging_file_that_a_later_write_removes(tmp_path):
    _run_and_get_killed(
        f"""
        import os, signal
        from customer_analytics.engines.storage import Location

        def half_then_killed(sink):
            sink.write(b"PAR1" + b"x" * 100_000)
            sink.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        Location({str(tmp_path)!r}).write("events/2022-04-01.parquet", half_then_killed)
        """
    )
    folder = tmp_path / "events"
    (left,) = folder.iterdir()
    assert left.name.startswith(".2022-04-01.parquet.") and left.name.endswith(".tmp")
    # Hidden: readers of the folder do not take it for a partition meanwhile.
    assert Location(str(tmp_path)).dataset_of_folder("events").files == []

    _aged(left, STALE_STAGING_SECONDS + 60)
    day = pa.table({"date": pa.array([date(2022, 4, 2)], pa.date32())})
    Lake(uri=str(tmp_path)).write_partitions("events", day, "date", ["2022-04-02"])

    assert [path.name for path in folder.iterdir()] == ["2022-04-02.parquet"]


def test_only_staging_files_nobody_writes_to_any_more_are_removed(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    stale = _aged(folder / f".2022-04-01.parquet.{'a' * 32}.tmp", HOUR)
    stale_unhidden = _aged(folder / f"2022-04-02.parquet.{'b' * 32}.tmp", HOUR)
    in_progress = folder / f".2022-04-03.parquet.{'c' * 32}.tmp"  # another writer, now
    in_progress.write_bytes(b"PAR1")
    not_staging = _aged(folder / "notes.tmp", HOUR)

    Location(str(tmp_path)).write_parquet("events/2022-04-04.parquet", pa.table({"v": [1]}))

    assert not stale.exists() and not stale_unhidden.exists()
    assert in_progress.exists() and not_staging.exists()
    assert (folder / "2022-04-04.parquet").exists()


def _rows(count: int) -> pa.Table:
    return pa.table(
        {
            "month": pa.array([APRIL[1]] * count, pa.date32()),
            "Contract": [f"HNH{n:06d}" for n in range(count)],
        },
        schema=SCHEMA,
    )


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The temporary directory of this process and of its children, for this test alone."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def _tsvs(tmp: Path) -> list[Path]:
    return sorted(tmp.rglob("*.tsv"))


def test_the_tsv_of_a_load_killed_with_its_process_is_removed_by_the_next_load(
    mysql_url, private_tmp
):
    _run_and_get_killed(
        f"""
        import os, signal
        from datetime import date
        import pyarrow as pa
        from customer_analytics.io_managers import mysql_warehouse

        written = mysql_warehouse.write_tsv

        def written_then_killed(rows, path):
            written(rows, path)
            os.kill(os.getpid(), signal.SIGKILL)

        mysql_warehouse.write_tsv = written_then_killed
        schema = pa.schema(
            [pa.field("month", pa.date32(), False), pa.field("Contract", pa.string(), False)],
            metadata={{"primary_key": "month,Contract"}},
        )
        rows = pa.table(
            {{"month": [date(2022, 4, 1)] * 50_000, "Contract": [f"C{{n}}" for n in range(50_000)]}},
            schema=schema,
        )
        mysql_warehouse.MySQLWarehouse({mysql_url!r}).replace(
            "killed_tsv", rows, ("month", date(2022, 4, 1), date(2022, 5, 1))
        )
        """,
        TMPDIR=str(private_tmp),
    )
    (left,) = _tsvs(private_tmp)
    assert left.stat().st_size > 50_000 * 10  # the profiles, in clear
    assert left.parent.name == mysql_warehouse.TSV_FOLDER.format(uid=os.getuid())
    assert oct(left.parent.stat().st_mode & 0o777) == "0o700"

    MySQLWarehouse(mysql_url).replace("killed_tsv", _rows(10), APRIL)

    assert _tsvs(private_tmp) == []


def test_a_load_removes_its_tsv_whether_it_succeeds_or_fails(mysql_url, private_tmp):
    warehouse = MySQLWarehouse(mysql_url)
    warehouse.replace("tsv_cleanup", _rows(1_000), APRIL)
    assert _tsvs(private_tmp) == []

    doubled = pa.concat_tables([_rows(3), _rows(3)])
    with pytest.raises(Exception, match="Duplicate entry"):
        warehouse.replace("tsv_cleanup", doubled, APRIL)
    assert _tsvs(private_tmp) == []


def test_the_tsv_of_a_load_still_running_elsewhere_is_left_alone(mysql_url, private_tmp):
    folder = private_tmp / mysql_warehouse.TSV_FOLDER.format(uid=os.getuid())
    folder.mkdir(mode=0o700)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            running = folder / f"{other.pid}-{'d' * 32}.tsv"
            running.write_text("being loaded\n")
            too_old = _aged(folder / f"{other.pid}-{'e' * 32}.tsv", 7 * HOUR)

            MySQLWarehouse(mysql_url).replace("tsv_running", _rows(10), APRIL)

            assert _tsvs(private_tmp) == [running]
            assert not too_old.exists()
        finally:
            other.kill()
