"""The environment variables of the project (see `.env.example`), parsed and validated once.

Nothing else in the project reads the environment: a variable that is misspelled or cannot be
parsed stops the code location from loading, with a message naming it. Values that may hold
credentials (the warehouse URL, the OpenAI key, the webhook) are handed to Dagster as
`dg.EnvVar` when they come from the environment, so the UI shows the variable's name and never
its value. AWS keys stay with the AWS credential chain (boto3's and Arrow's own).
"""

import ipaddress
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pydantic

REPO_ROOT = Path(__file__).resolve().parents[1]

DEFAULTS = {
    "RAW_DATA_URI": "data/raw",
    "LAKE_URI": "data/lake",
    "WAREHOUSE_URL": "duckdb:///data/warehouse.duckdb",
    "EXPORT_DIR": "data/exports",
    "REPORT_DIR": "data/reports",
    "COMPUTE_ENGINE": "duckdb",
    "KEYWORD_CLASSIFIER": "rules",
    "OPENAI_MODEL": "gpt-4o-mini",
    "OPENAI_MAX_REQUESTS": "200",
    "DAGSTER_UI_URL": "http://127.0.0.1:3000",
    "SEARCH_EXPORT_DAYS": "1-14",
    "SPARK_MASTER_URL": "local[*]",
    "SPARK_DRIVER_MEMORY": "4g",
    # The shipped events server's address (python -m customer_analytics.defs.web.sample_events_api).
    "EVENTS_API_URL": "http://127.0.0.1:8765",
    # The bounds of one run of the poller: an API with more is polled again by the next run.
    "EVENTS_API_MAX_BATCHES_PER_RUN": "1000",
    "EVENTS_API_MAX_SECONDS_PER_RUN": "300",
    "WEB_EVENT_WEIGHTS": "",
}
COMPUTE_ENGINES = ("duckdb", "spark")
KEYWORD_CLASSIFIERS = ("rules", "openai")


class ConfigurationError(ValueError):
    """A variable of the environment that the project cannot use; the message names it."""


class CheckThresholds(dg.ConfigurableResource):
    """Limits of the checks; each is set by `CHECK_<NAME>` (e.g. CHECK_MAX_OTHER_SHARE)."""

    # Beyond this share of unreadable lines, the file is not the expected export.
    max_malformed_share: float = pydantic.Field(0.5, ge=0, le=1)
    max_quarantine_share: float = pydantic.Field(0.02, ge=0, le=1)  # per reason
    # All reasons together; search days reject 6-8 % (quit events, voice searches) routinely.
    max_rejected_share: float = pydantic.Field(0.25, ge=0, le=1)
    max_unknown_app_share: float = pydantic.Field(0.01, ge=0, le=1)
    max_long_duration_share: float = pydantic.Field(0.0, ge=0, le=1)  # durations over a day
    min_volume_ratio: float = pydantic.Field(0.5, ge=0, le=1)  # of the trailing median
    # A year at most: each day checked looks up this many earlier days in the lake.
    trailing_days: int = pydantic.Field(7, ge=1, le=366)
    max_other_share: float = pydantic.Field(0.3, ge=0, le=1)  # keywords classified `Other`
    # Clickstream events delivered more than an hour after they happened.
    max_late_event_share: float = pydantic.Field(0.1, ge=0, le=1)
    # Customers of the clickstream that the CRM extract does not know.
    max_unmatched_crm_share: float = pydantic.Field(0.1, ge=0, le=1)


def check_thresholds(env: dict[str, str]) -> CheckThresholds:
    """The `CHECK_*` variables; an unknown name or a value out of range is an error."""
    known = CheckThresholds.model_fields
    limits = {}
    for name, raw in sorted(env.items()):
        if not name.startswith("CHECK_") or not raw:
            continue
        field = name.removeprefix("CHECK_").lower()
        if field not in known:
            variables = ", ".join(f"CHECK_{limit.upper()}" for limit in known)
            raise ConfigurationError(f"{name} is not a check limit; the limits are {variables}")
        limits[field] = raw
    try:
        return CheckThresholds(**limits)
    except pydantic.ValidationError as error:
        problem = error.errors()[0]
        field = str(problem["loc"][0])
        raise ConfigurationError(
            f"CHECK_{field.upper()}={limits[field]!r}: {problem['msg']}"
        ) from None


def days_of_month(name: str, raw: str) -> tuple[int, ...]:
    """Days of the month written as days and ranges separated by commas (`1-14`, `1-7,15,20-21`),
    sorted and without repeats; anything else, or a day outside 1..31, is an error."""
    days: set[int] = set()
    for item in raw.split(","):
        matched = re.fullmatch(r"\s*([0-9]{1,2})\s*(?:-\s*([0-9]{1,2})\s*)?", item)
        start, end = (int(matched[1]), int(matched[2] or matched[1])) if matched else (0, 0)
        if not 1 <= start <= end <= 31:
            raise ConfigurationError(
                f"{name}={raw!r}: expected days of the month (1 to 31) and ranges separated by "
                "commas, e.g. 1-14 or 1-7,15-21"
            )
        days.update(range(start, end + 1))
    return tuple(sorted(days))


# A DNS name: dot-separated labels of letters, digits, `-` and `_` (Compose service names).
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


def is_host(text: str) -> bool:
    """A host name (at most 253 characters) or an IPv4 or IPv6 address, without brackets."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return len(text) <= 253 and HOST_NAME.fullmatch(text) is not None
    return True


def http_url_problem(url: str) -> str | None:
    """Why `url` cannot be the base of the http(s) addresses built on it, or None."""
    # urlsplit would drop tabs and line breaks and strip spaces without a word.
    if re.search(r"[\s\x00-\x1f\x7f]", url):
        return "a URL holds no spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as error:  # brackets around something other than an IPv6 address
        return f"not a URL ({error})"
    if parts.scheme not in ("http", "https") or not url.lower().startswith(parts.scheme + "://"):
        return "expected an http:// or https:// URL"
    if not parts.hostname:
        return "the URL names no host"
    if not is_host(parts.hostname):
        return f"{parts.hostname!r} is not a host name or IP address"
    try:
        port_valid = parts.port != 0  # None: the scheme's own port
    except ValueError:  # not a number, or beyond 65535
        port_valid = False
    if not port_valid:
        return "the port must be a number from 1 to 65535"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "expected a base URL, without ?query or #fragment"
    return None


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
    report_dir: str
    compute_engine: str
    keyword_classifier: str
    openai_base_url: str | None
    openai_model: str
    openai_max_requests: int
    check_thresholds: CheckThresholds
    alert_webhook_configured: bool
    dagster_ui_url: str
    aws_endpoint_url: str | None
    aws_region: str | None
    search_export_days: tuple[int, ...]
    spark_master_url: str
    spark_remote: str | None
    spark_driver_memory: str
    spark_driver_host: str | None
    spark_driver_bind_address: str | None
    events_api_url: str
    events_api_max_batches_per_run: int
    events_api_max_seconds_per_run: int
    web_event_weights: str  # read by the web domain (`defs/web/resources.py`)

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
                raise ConfigurationError(f"{name}={chosen!r}: expected one of {', '.join(allowed)}")
            return chosen

        def positive_int(name: str) -> int:
            raw = value(name)
            # Digits 0-9 only: str.isdigit() takes `²`, which int() refuses, and int() reads
            # the digits of other scripts. 18 digits at most keep it a 64-bit integer.
            if not re.fullmatch(r"\s*[0-9]{1,18}\s*", raw) or int(raw) < 1:
                raise ConfigurationError(
                    f"{name}={raw!r}: expected a whole number above 0, at most 18 digits 0-9"
                )
            return int(raw)

        def http_url(name: str) -> str:
            url = value(name)
            # A user name or password would show in messages and in the UI: not repeated here.
            if re.match(r"[^/?#]*//[^/?#]*@", url):
                raise ConfigurationError(
                    f"{name}: a user name or password in the URL is not supported "
                    "(the value is not shown)"
                )
            if problem := http_url_problem(url):
                raise ConfigurationError(f"{name}={url!r}: {problem}, e.g. {DEFAULTS[name]}")
            return url.rstrip("/")

        def memory_size(name: str) -> str:
            raw = value(name).strip()
            # Spark's sizes: digits 0-9 and a unit (none is MiB for the driver's memory).
            sized = re.fullmatch(r"([0-9]{1,9})(?:[kmgt]b?)?", raw, re.IGNORECASE)
            if not sized or int(sized[1]) < 1:
                raise ConfigurationError(
                    f"{name}={raw!r}: expected a size above 0 in digits 0-9 and a unit k, m, g "
                    "or t, e.g. 512m or 4g"
                )
            return raw

        def optional_host(name: str) -> str | None:
            raw = env.get(name, "").strip()
            if raw and not is_host(raw):
                raise ConfigurationError(
                    f"{name}={raw!r}: expected a host name or IP address, without a port, "
                    "brackets or scheme (e.g. 10.0.0.5 or dagster-daemon)"
                )
            return raw or None

        classifier = choice("KEYWORD_CLASSIFIER", KEYWORD_CLASSIFIERS)
        if classifier == "openai" and not env.get("OPENAI_API_KEY"):
            raise ConfigurationError("KEYWORD_CLASSIFIER=openai needs OPENAI_API_KEY")
        return cls(
            raw_data_uri=resolve_uri(value("RAW_DATA_URI")),
            lake_uri=resolve_uri(value("LAKE_URI")),
            warehouse_url=resolve_warehouse_url(value("WAREHOUSE_URL")),
            warehouse_url_from_env=bool(env.get("WAREHOUSE_URL")),
            export_dir=resolve_uri(value("EXPORT_DIR")),
            report_dir=resolve_uri(value("REPORT_DIR")),
            compute_engine=choice("COMPUTE_ENGINE", COMPUTE_ENGINES),
            keyword_classifier=classifier,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            openai_model=value("OPENAI_MODEL"),
            openai_max_requests=positive_int("OPENAI_MAX_REQUESTS"),
            alert_webhook_configured=bool(env.get("ALERT_WEBHOOK_URL")),
            dagster_ui_url=http_url("DAGSTER_UI_URL"),
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            aws_region=env.get("AWS_REGION") or None,
            search_export_days=days_of_month("SEARCH_EXPORT_DAYS", value("SEARCH_EXPORT_DAYS")),
            check_thresholds=check_thresholds(env),
            spark_master_url=value("SPARK_MASTER_URL"),
            spark_remote=env.get("SPARK_REMOTE") or None,
            spark_driver_memory=memory_size("SPARK_DRIVER_MEMORY"),
            spark_driver_host=optional_host("SPARK_DRIVER_HOST"),
            spark_driver_bind_address=optional_host("SPARK_DRIVER_BIND_ADDRESS"),
            events_api_url=http_url("EVENTS_API_URL"),
            events_api_max_batches_per_run=positive_int("EVENTS_API_MAX_BATCHES_PER_RUN"),
            events_api_max_seconds_per_run=positive_int("EVENTS_API_MAX_SECONDS_PER_RUN"),
            web_event_weights=value("WEB_EVENT_WEIGHTS"),
        )


def compute_engine(environ: dict[str, str] | None = None) -> str:
    """COMPUTE_ENGINE alone, for what is fixed when the definitions load (the assets' kinds)."""
    return Settings.from_env(environ).compute_engine
