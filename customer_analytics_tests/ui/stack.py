"""The Dagster side of the UI tests: a webserver and a daemon on a temporary instance, and waits
on that instance. Nothing here needs a browser, so the conftest can import it even where
Playwright is missing."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MODULE = "customer_analytics.definitions"
BIN = Path(sys.executable).parent

# Every wait is bounded, with room for a CI machine whose two cores also run the rest of the
# suite: there a Dagster process (the run worker, each step's worker) took up to 50 s to start,
# and a backfill of one run with two steps three minutes.
SERVER_START_TIMEOUT = 180
RUN_TIMEOUT = 300
BACKFILL_TIMEOUT = 420

T = TypeVar("T")

INSTIGATORS = """{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        sensors { name sensorState { id status } }
        schedules { name scheduleState { id status } }
      }
    }
    ... on PythonError { message }
  }
}"""
STOP_SENSOR = """mutation($id: String) {
  result: stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on PythonError { message }
  }
}"""
STOP_SCHEDULE = """mutation($id: String) {
  result: stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}"""


def in_ci() -> bool:
    """CI must prove the UI works: there a missing browser stack fails instead of skipping."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval=1.0) -> T:
    """Polls `probe` until it returns something truthy; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path} was never written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Service:
    """A long-running Dagster process in its own process group, its output in a file."""

    name: str
    command: list[str]
    log: Path
    process: subprocess.Popen | None = None

    def start(self, env: dict[str, str], cwd: Path) -> None:
        with self.log.open("wb") as out:
            # Its own session, so the code servers and run workers it spawns die with it.
            self.process = subprocess.Popen(
                self.command,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(grace)
                return
            except subprocess.TimeoutExpired:
                continue


@dataclass
class DagsterUI:
    """A running `dagster-webserver` + `dagster-daemon` over one DAGSTER_HOME."""

    home: Path
    raw: Path
    env: dict[str, str]
    port: int
    services: list[Service] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def start(self, logs: Path, cwd: Path) -> None:
        """The webserver first; the project's sensors are stopped before the daemon starts."""
        webserver = Service(
            "dagster-webserver",
            [str(BIN / "dagster-webserver"), "-m", MODULE, "-h", "127.0.0.1", "-p", str(self.port)],
            logs / "webserver.log",
        )
        # Backfills launched from the UI are only executed by the daemon's backfill loop.
        daemon = Service(
            "dagster-daemon",
            [str(BIN / "dagster-daemon"), "run", "-m", MODULE],
            logs / "daemon.log",
        )
        self.services = [webserver]
        webserver.start(self.env, cwd)
        self._wait(f"{self.base_url}/server_info to answer", self._answers)
        self.stop_automation()
        self.services.append(daemon)
        daemon.start(self.env, cwd)
        self._wait("the daemon's backfill heartbeat", self._backfill_daemon_beats)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            answer = json.load(reply)
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def stop_automation(self) -> list[str]:
        """Stops every sensor and schedule, as their toggles in the UI would.

        The project's sensors start RUNNING by default: with the daemon up they would launch a run
        for every day file of the landing zone and materialize months on their own, racing the
        runs the tests launch (and their assertions) on two cores."""
        repositories = self.graphql(INSTIGATORS)["repositoriesOrError"]
        if "nodes" not in repositories:
            raise RuntimeError(f"the webserver could not load the definitions: {repositories}")
        stopped = []
        for repository in repositories["nodes"]:
            for kind, state, mutation, success in (
                ("sensors", "sensorState", STOP_SENSOR, "StopSensorMutationResult"),
                ("schedules", "scheduleState", STOP_SCHEDULE, "ScheduleStateResult"),
            ):
                for instigator in repository[kind]:
                    if instigator[state]["status"] != "RUNNING":
                        continue
                    result = self.graphql(mutation, {"id": instigator[state]["id"]})["result"]
                    if result["__typename"] != success:
                        raise RuntimeError(f"could not stop {instigator['name']}: {result}")
                    stopped.append(instigator["name"])
        return stopped

    def should_show_community_dialog(self) -> bool:
        """Whether the UI will open "Join the Dagster community" (until someone skips it)."""
        return self.graphql("{ shouldShowNux }")["shouldShowNux"]

    def stop(self) -> None:
        for service in self.services:
            service.stop()

    def log_tails(self, lines: int = 40) -> str:
        return "\n\n".join(
            f"--- {service.name} ({service.log}) ---\n{tail(service.log, lines)}"
            for service in self.services
        )

    def _wait(self, what: str, probe: Callable[[], bool]) -> None:
        def alive_and(probe=probe) -> bool:
            for service in self.services:
                if not service.alive():
                    raise RuntimeError(f"{service.name} exited early\n{self.log_tails()}")
            return probe()

        try:
            wait_for(what, alive_and, SERVER_START_TIMEOUT)
        except TimeoutError as timeout:
            raise RuntimeError(f"{timeout}\n{self.log_tails()}") from None

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/server_info", timeout=5) as reply:
                return reply.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _backfill_daemon_beats(self) -> bool:
        with self.instance() as instance:
            return "BACKFILL" in instance.get_daemon_heartbeats()

    def run_by_prefix(self, prefix: str, timeout: float = 30) -> dg.DagsterRun:
        """The run whose id starts with `prefix`: the UI shows the first 8 characters."""

        def find() -> dg.DagsterRun | None:
            with self.instance() as instance:
                return next(
                    (run for run in instance.get_runs(limit=50) if run.run_id.startswith(prefix)),
                    None,
                )

        return wait_for(f"run {prefix} in the instance", find, timeout)

    def wait_for_run(self, run_id: str, timeout: float = RUN_TIMEOUT) -> dg.DagsterRun:
        def finished() -> dg.DagsterRun | None:
            with self.instance() as instance:
                run = instance.get_run_by_id(run_id)
            return run if run is not None and run.is_finished else None

        return wait_for(f"run {run_id} to finish", finished, timeout)

    def wait_for_backfill(
        self, backfill_id: str, timeout: float = BACKFILL_TIMEOUT
    ) -> PartitionBackfill:
        """The backfill once it reached a final state."""
        ongoing = {BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING, BulkActionStatus.FAILING}

        def finished() -> PartitionBackfill | None:
            with self.instance() as instance:
                backfill = instance.get_backfill(backfill_id)
            return backfill if backfill is not None and backfill.status not in ongoing else None

        return wait_for(f"backfill {backfill_id} to finish", finished, timeout, interval=2)

    def runs_of_backfill(self, backfill_id: str) -> list[dg.DagsterRun]:
        with self.instance() as instance:
            return list(
                instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            )

    def materialized_partitions(self, asset: str) -> set[str]:
        with self.instance() as instance:
            return set(instance.get_materialized_partitions(dg.AssetKey(asset)))

    def failure_messages(self, run_id: str) -> str:
        """The step and run failures of a run, to say why in an assertion message."""
        failures = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
        with self.instance() as instance:
            events = instance.all_logs(run_id)
        lines = []
        for event in events:
            dagster_event = event.dagster_event
            if dagster_event is None:
                continue
            if dagster_event.event_type in failures:
                lines.append(event.message or "")
                error = getattr(dagster_event.event_specific_data, "error", None)
                if error is not None:
                    lines.append(error.to_string())
            elif dagster_event.event_type == dg.DagsterEventType.ENGINE_EVENT:
                error = getattr(dagster_event.event_specific_data, "error", None)
                if error is not None:
                    lines.append(error.to_string())
        return "\n".join(lines) or "(no failure event)"

    def check_evaluations(self, run_id: str) -> list:
        """The asset-check results a run reported, in order."""
        with self.instance() as instance:
            events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        return [event.dagster_event.event_specific_data for event in events]
