"""Runs one step of the bench as a command of its own and measures it from outside: wall time
and the peak resident memory of its whole process tree (Dagster's step processes and Spark's
JVM included), sampled from /proc."""

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.1
LOG_TAIL_LINES = 30


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_bytes: int


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * page
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending.extend(children.get(pid, []))
    return total


def run(command: list[str], environ: dict[str, str], log: Path) -> Measured:
    """Runs `command` with `environ` added to this environment, its output in `log`; raises
    with the end of the log when it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **environ},
        )
        peak, done = [0], threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_SECONDS):
                peak[0] = max(peak[0], tree_rss_bytes(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = process.wait()
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    if returncode:
        tail = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        raise SystemExit(f"{' '.join(command)} failed; the end of {log}:\n" + "\n".join(tail))
    return Measured(elapsed, peak[0])
