"""The environment variables of the project (see `.env.example`), parsed and validated once.

Values that may hold credentials (the warehouse URL, the OpenAI key) are handed to Dagster as
`dg.EnvVar` when they come from the environment, so the UI shows the variable's name and never
its value.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

REPO_ROOT = Path(__file__).resolve().parents[1]

DEFAULTS = {
    "RAW_DATA_URI": "data/raw",
    "LAKE_URI": "data/lake",
    "WAREHOUSE_URL": "duckdb:///data/warehouse.duckdb",
    "EXPORT_DIR": "data/exports",
    "COMPUTE_ENGINE": "duckdb",
    "KEYWORD_CLASSIFIER": "rules",
    "OPENAI_MODEL": "gpt-4o-mini",
    "OPENAI_MAX_REQUESTS": "200",
}
COMPUTE_ENGINES = ("duckdb",)
KEYWORD_CLASSIFIERS = ("rules", "openai")


def resolve_uri(uri: str) -> str:
    """A local path relative to the repository root becomes absolute; `s3://` URIs stay as they are."""
    if "://" in uri:
        return uri
    path = Path(uri).expanduser()
    return str(path if path.is_absolute() else REPO_ROOT / path)


def resolve_warehouse_url(url: str) -> str:
    """`duckdb:///relative.duckdb` is made absolute against the repository root; other URLs pass."""
    prefix = "duckdb:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "duckdb:///:memory:":
        return prefix + str(REPO_ROOT / url.removeprefix(prefix))
    return url


@dataclass(frozen=True)
class Settings:
    raw_data_uri: str
    lake_uri: str
    warehouse_url: str
    warehouse_url_from_env: bool
    export_dir: str
    compute_engine: str
    keyword_classifier: str
    openai_base_url: str | None
    openai_model: str
    openai_max_requests: int
    check_thresholds: dict[str, str]
    alert_webhook_configured: bool

    @property
    def warehouse_url_config(self) -> str | dg.EnvVar:
        """What Dagster is given: the variable itself when set, so its value stays out of the UI."""
        return dg.EnvVar("WAREHOUSE_URL") if self.warehouse_url_from_env else self.warehouse_url

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ

        def value(name: str) -> str:
            return env.get(name) or DEFAULTS[name]

        def choice(name: str, allowed: tuple[str, ...]) -> str:
            chosen = value(name).lower()
            if chosen not in allowed:
                raise ValueError(f"{name}={chosen!r}: expected one of {', '.join(allowed)}")
            return chosen

        classifier = choice("KEYWORD_CLASSIFIER", KEYWORD_CLASSIFIERS)
        if classifier == "openai" and not env.get("OPENAI_API_KEY"):
            raise ValueError("KEYWORD_CLASSIFIER=openai needs OPENAI_API_KEY")
        return cls(
            raw_data_uri=resolve_uri(value("RAW_DATA_URI")),
            lake_uri=resolve_uri(value("LAKE_URI")),
            warehouse_url=resolve_warehouse_url(value("WAREHOUSE_URL")),
            warehouse_url_from_env=bool(env.get("WAREHOUSE_URL")),
            export_dir=resolve_uri(value("EXPORT_DIR")),
            compute_engine=choice("COMPUTE_ENGINE", COMPUTE_ENGINES),
            keyword_classifier=classifier,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            openai_model=value("OPENAI_MODEL"),
            openai_max_requests=int(value("OPENAI_MAX_REQUESTS")),
            alert_webhook_configured=bool(env.get("ALERT_WEBHOOK_URL")),
            check_thresholds={
                name.removeprefix("CHECK_").lower(): raw
                for name, raw in env.items()
                if name.startswith("CHECK_") and raw
            },
        )
