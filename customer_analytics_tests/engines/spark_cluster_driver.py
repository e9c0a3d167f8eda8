"""A Spark session started as the project starts it (settings from the environment: the engine
resource of `definitions.py` with SPARK_MASTER_URL or SPARK_REMOTE), in a process of its own:
what `test_parity.py` runs on the loopback cluster, as its driver and as a Spark Connect client.

    python -m customer_analytics_tests.engines.spark_cluster_driver RAW LAKE CATEGORIES CONTENT_DAYS SEARCH_DAYS

It runs both chains (`chain.py`) on the session's Spark engine and sums 0..999 on the cluster.
The days are comma-separated ISO dates; CATEGORIES is a Parquet file of keyword_category. It
prints one line of JSON: the files of each chain's run, by output ("content", "search"), and
what the session is ("session"): the sum, whether it is a Connect client, every TCP address
that its own processes (this Python and any JVM it started) listen on and, for a driver of its
own, its host and RPC port and the block managers (the driver's and the executors').
"""

import ipaddress
import json
import os
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from customer_analytics.definitions import compute_engine
from customer_analytics.engines.spark import SparkEngine
from customer_analytics.engines.storage import Location
from customer_analytics.settings import Settings
from customer_analytics_tests.engines.chain import run_content_chain, run_search_chain

LISTEN = "0A"  # the state of a listening socket in /proc/net/tcp
CONNECT = "pyspark.sql.connect"  # the package of a Spark Connect client's session


def process_tree(root: int) -> set[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):  # the process ended meanwhile
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, pending = set(), [root]
    while pending:
        pid = pending.pop()
        found.add(pid)
        pending.extend(children.get(pid, []))
    return found


def socket_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(descriptor)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    return inodes


def decoded_address(hex_address: str) -> tuple[str, int]:
    """`0100007F:1F90` as ("127.0.0.1", 8080); an IPv4-mapped IPv6 address as its IPv4 one (a
    Java socket bound to 127.0.0.1 is an IPv6 socket bound to ::ffff:127.0.0.1)."""
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # The kernel writes the address as 32-bit words in the machine's byte order.
    if sys.byteorder == "little":
        raw = b"".join(raw[start : start + 4][::-1] for start in range(0, len(raw), 4))
    address = ipaddress.ip_address(raw)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address), int(port, 16)


def listening_addresses(pids: set[int]) -> list[tuple[str, int]]:
    inodes = socket_inodes(pids)
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/self/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                found.append(decoded_address(fields[1]))
    return sorted(found)


def what_the_session_is(session) -> dict:
    total = session.range(1000).selectExpr("sum(id) AS total").first()["total"]
    report = {"total": total, "connect": type(session).__module__.startswith(CONNECT)}
    if not report["connect"]:
        # The block managers of the driver and of the executors (py4j cannot reflect on the
        # driver's BlockManager itself: a class it names is not on the classpath).
        known = session.sparkContext._jsc.sc().statusTracker().getExecutorInfos()
        report |= {
            "driver_host": session.conf.get("spark.driver.host"),
            "driver_port": int(session.conf.get("spark.driver.port")),
            "block_managers": [[info.host(), info.port()] for info in known],
        }
    report["listening"] = listening_addresses(process_tree(os.getpid()))
    return report


def _days(text: str) -> list[date]:
    return [date.fromisoformat(day) for day in text.split(",")]


def main(raw: str, lake: str, categories: str, content_days: str, search_days: str) -> None:
    session = compute_engine(Settings.from_env()).spark.spark_session
    engine = SparkEngine(session)
    try:
        content = run_content_chain(engine, Location(raw), Location(lake), _days(content_days))
        search = run_search_chain(
            engine, Location(raw), Location(lake), _days(search_days), pq.read_table(categories)
        )
        report = what_the_session_is(session)
    finally:
        engine.close()
        session.stop()
    print(json.dumps({"content": content.files, "search": search.files, "session": report}))


if __name__ == "__main__":
    main(*sys.argv[1:])
