"""A Spark cluster on loopback, from the installed PySpark alone (no Docker, no download): a
standalone master, two workers and a Spark Connect server that runs its jobs on them.

    make spark-cluster    # prints SPARK_MASTER_URL and SPARK_REMOTE; Ctrl-C stops it all

Every process listens on 127.0.0.1 only, on free ports, and writes its log and its work folder
under one folder (`--folder`, a temporary one by default). The tests start the same cluster
(`engines/test_parity.py`).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

# Variables that would choose the addresses in Spark's stead, or another configuration.
SPARK_ENVIRONMENT = (
    "SPARK_LOCAL_IP",
    "SPARK_LOCAL_HOSTNAME",
    "SPARK_MASTER_HOST",
    "SPARK_CONF_DIR",
    "SPARK_REMOTE",
    "SPARK_DRIVER_HOST",
    "SPARK_DRIVER_BIND_ADDRESS",
)
# A JVM takes seconds to start; on a loaded 2-core machine, tens of seconds.
STARTUP_SECONDS = 120
# What an application of the tests may take on the cluster, start-up included.
CLIENT_SECONDS = 600
REPO_ROOT = Path(__file__).resolve().parents[1]
CONNECT_SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"
# What each worker offers: task slots and memory for the executors of two applications at once
# (the Connect server and a driver), whatever the machine's cores.
WORKER_CORES = 2
WORKER_MEMORY = "2g"
REGISTERED = "Successfully registered with master"  # a worker's log line once it can take work


@dataclass(frozen=True)
class Cluster:
    master_url: str  # SPARK_MASTER_URL: spark://127.0.0.1:PORT
    remote_url: str | None  # SPARK_REMOTE: sc://127.0.0.1:PORT, when a Connect server runs
    folder: Path  # the logs and work folders


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def environment_without_spark_addresses(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SPARK_ENVIRONMENT}
    return {**env, **extra}


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, log: Path, what: str) -> None:
    """Polls `ready`; raises with the tail of `log` if the process ends or time runs out."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(
                f"The Spark {what} did not start within {STARTUP_SECONDS} s:\n{tail}"
            )
        time.sleep(0.2)


def stop_group(process: subprocess.Popen) -> None:
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def spark_process(
    folder: Path, name: str, command: list[str], memory: str = "256m"
) -> Iterator[tuple]:
    """One JVM of the installed PySpark on loopback only (SPARK_LOCAL_IP also places its web UI
    and block manager) with `memory` of heap, logging to `folder/name.log`; stopped, with the
    executors it started, on exit."""
    log = folder / f"{name}.log"
    env = environment_without_spark_addresses(
        SPARK_HOME=str(spark_home()),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_MASTER_HOST="127.0.0.1",
        # The heap of a master or worker, and of the Connect server's driver (started as one).
        SPARK_DAEMON_MEMORY=memory,
        SPARK_LOG_DIR=str(folder),
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the executors it starts stop with it
        )
        try:
            yield process, log
        finally:
            stop_group(process)


def _daemon(role: str, *arguments: str) -> list[str]:
    return [
        str(spark_home() / "bin" / "spark-class"),
        f"org.apache.spark.deploy.{role.lower()}.{role}",
        *arguments,
        *("--host", "127.0.0.1", "--webui-port", str(free_port())),
    ]


def _connect_server(master_url: str, port: int) -> list[str]:
    return [
        str(spark_home() / "bin" / "spark-submit"),
        *("--class", CONNECT_SERVER, "--name", "customer_analytics-connect"),
        *("--master", master_url),
        # Half of the cluster: the other half is left for a driver of the project (Spark's
        # default executors of 1 GB), so that both can run jobs at once.
        *("--executor-memory", "512m", "--total-executor-cores", str(WORKER_CORES)),
        *("--conf", "spark.connect.grpc.binding.address=127.0.0.1"),
        *("--conf", f"spark.connect.grpc.binding.port={port}"),
        *("--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1"),
        *("--conf", "spark.ui.enabled=false"),
    ]


@contextmanager
def loopback_cluster(folder: Path, workers: int = 2, connect: bool = True) -> Iterator[Cluster]:
    """A master and `workers` workers; with `connect`, a Spark Connect server whose jobs run on
    them."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    master_url = f"spark://127.0.0.1:{port}"
    with ExitStack() as stack:
        master, log = stack.enter_context(
            spark_process(folder, "master", _daemon("Master", "--port", str(port)))
        )
        wait_until(lambda: accepts_connections(port), master, log, "master")
        for number in range(1, workers + 1):
            arguments = (master_url, "--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY)
            worker, log = stack.enter_context(
                spark_process(
                    folder,
                    f"worker-{number}",
                    _daemon("Worker", *arguments, "--work-dir", str(folder / f"work-{number}")),
                )
            )
            wait_until(
                lambda log=log: REGISTERED in log.read_text(errors="replace"),
                worker,
                log,
                f"worker {number}",
            )
        remote_url = None
        if connect:
            connect_port = free_port()
            server, log = stack.enter_context(
                spark_process(folder, "connect", _connect_server(master_url, connect_port), "1g")
            )
            wait_until(lambda: accepts_connections(connect_port), server, log, "Connect server")
            remote_url = f"sc://127.0.0.1:{connect_port}"
        yield Cluster(master_url, remote_url, folder)


def run_client(module: str, env: dict[str, str], *arguments: str) -> dict:
    """A module of the tests run as a Spark application (a driver of the cluster, or a Spark
    Connect client) in a process of its own: the JSON of the last line it prints."""
    finished = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=CLIENT_SECONDS,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="logs and work folders (default: temporary)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="spark-cluster-"))
    print(f"Starting a master, {args.workers} workers and a Connect server; logs in {folder}")
    with loopback_cluster(folder, workers=args.workers) as cluster:
        print(
            f"SPARK_MASTER_URL={cluster.master_url}\nSPARK_REMOTE={cluster.remote_url}\n"
            "With COMPUTE_ENGINE=spark, set one of them (not both). Ctrl-C stops the cluster.",
            flush=True,
        )
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # as Ctrl-C
        with suppress(KeyboardInterrupt):
            signal.pause()
    print("Stopped.")


if __name__ == "__main__":
    sys.exit(main())
