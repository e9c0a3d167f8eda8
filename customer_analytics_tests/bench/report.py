"""The bench's one table: every figure, the ratios the targets are set on, and the machine,
printed and written as Markdown and JSON."""

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Figure:
    step: str
    seconds: float
    count: int
    unit: str
    peak_mb: float
    timed: bool = True  # False: preparation, not part of any comparison
    result: dict = field(default_factory=dict)  # what the step printed as its last line

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def machine() -> dict[str, object]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
    }


class Report:
    def __init__(self, root: Path, arguments: list[str]) -> None:
        self.root = root
        self.command = " ".join(["python -m customer_analytics_tests.bench", *arguments])
        self.figures: list[Figure] = []
        self.profiles: dict[str, dict] = {}  # row count and checksum of each profile table
        self.mysql: dict[str, int] = {}  # rows/s of each way of loading MySQL
        self.spark_jobs: dict[str, int] = {}  # Spark jobs of a backfill, by its days

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(
            f"{figure.step:<56} {figure.seconds:>8.1f} s {figure.rate:>12,.0f} {figure.unit}/s"
            f"  peak {figure.peak_mb:>7,.0f} MB",
            flush=True,
        )
        return figure

    def _seconds(self, prefix: str) -> float | None:
        steps = [f.seconds for f in self.figures if f.timed and f.step.startswith(prefix)]
        return sum(steps) if steps else None

    def ratios(self) -> dict[str, float]:
        """pipeline/bound and peer/pipeline for each engine's content chain (steps 2 and 5)."""
        bound = self._seconds("lower bound")
        peer = self._seconds("peer")
        ratios = {}
        for engine in ("duckdb", "spark"):
            chain = self._seconds(f"{engine}:")
            if chain is None:
                continue
            if bound:
                ratios[f"{engine} pipeline / lower bound"] = chain / bound
            if peer:
                ratios[f"peer / {engine} pipeline"] = peer / chain
        return ratios

    def same_profiles(self) -> dict[str, bool]:
        """Whether each pipeline's profile table is the lower bound's, row for row."""
        bound = self.profiles.get("lower bound")
        return {
            engine: profiles == bound
            for engine, profiles in self.profiles.items()
            if engine != "lower bound" and bound
        }

    def _engines_agree(self) -> list[str]:
        if not {"duckdb", "spark"} <= set(self.profiles):
            return []
        same = self.profiles["duckdb"] == self.profiles["spark"]
        return [f"- profile tables of the two engines are identical: {'yes' if same else 'NO'}"]

    def markdown(self) -> str:
        rows = [
            "| step | wall time | count | rate | peak memory |",
            "|---|---:|---:|---:|---:|",
            *(
                f"| {f.step}{'' if f.timed else ' (not counted)'} | {f.seconds:,.1f} s "
                f"| {f.count:,} {f.unit} | {f.rate:,.0f} {f.unit}/s | {f.peak_mb:,.0f} MB |"
                for f in self.figures
            ),
            "",
            "| ratio | value |",
            "|---|---:|",
            *(f"| {name} | {value:.2f}x |" for name, value in self.ratios().items()),
            "",
            *(
                f"- profile table of {engine} is the lower bound's: "
                f"{'yes' if same else 'NO'} ({self.profiles[engine]['rows']:,} rows)"
                for engine, same in self.same_profiles().items()
            ),
            *self._engines_agree(),
            *(
                f"- Spark jobs of a backfill of {days}: {jobs}"
                for days, jobs in self.spark_jobs.items()
            ),
            *(
                f"- MySQL, {name.removesuffix('_rows_per_second').replace('_', ' ')}: "
                f"{value:,} rows/s"
                for name, value in self.mysql.items()
                if name != "rows"
            ),
            "",
            "Machine: {cpu}, {cores} cores, {memory_gb} GB; Python {python}.".format(**machine()),
            f"Command: `{self.command}`",
        ]
        return "\n".join(rows) + "\n"

    def write(self) -> None:
        text = self.markdown()
        print("\n" + text, flush=True)
        (self.root / "bench.md").write_text(text)
        (self.root / "bench.json").write_text(
            json.dumps(
                {
                    "command": self.command,
                    "machine": machine(),
                    "figures": [{**asdict(f), "rate": f.rate} for f in self.figures],
                    "ratios": self.ratios(),
                    "profiles": self.profiles,
                    "same_profiles": self.same_profiles(),
                    "mysql": self.mysql,
                    "spark_jobs": self.spark_jobs,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"written: {self.root / 'bench.md'} and bench.json", flush=True)
