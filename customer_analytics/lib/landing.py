"""The landing zone: the raw logs as their sources drop them, local or in S3. Each domain knows
its own files in it (`defs/<domain>/`); this is what they share."""

from collections.abc import Callable

from customer_analytics.lib.folder import Folder


def day_of_path(path: str) -> str | None:
    """The daily partition key of a nightly export's file: the first name under the log's
    folder, `YYYYMMDD` (`log_content/20220401.json`, `log_search/20220601/part-0.parquet`), of a
    JSON or Parquet file; None for any other file."""
    parts = path.split("/")
    name = parts[1].removesuffix(".json") if len(parts) > 1 else ""
    if len(name) == 8 and name.isdigit() and path.endswith((".json", ".parquet")):
        return f"{name[:4]}-{name[4:6]}-{name[6:]}"
    return None


class LandingZone(Folder):
    """The raw logs: `log_content/YYYYMMDD.json`, `log_search/YYYYMMDD/part-*.parquet`, the
    clickstream batches the poller lands, `web_events/YYYY/MM/DD/HH/batch-*.json`, and the CRM
    extract `crm/crm_customers.csv`."""

    def missing(self, relatives: list[str]) -> list[str]:
        """The full URIs of those files or folders that do not exist."""
        return [self.location.describe(rel) for rel in relatives if not self.location.exists(rel)]

    def arrived(self, folder: str, partition_of: Callable[[str], str | None]) -> dict[str, str]:
        """The partitions present under `folder` as partition key → version, `partition_of`
        telling each file's key (None: not a file of the log); a partition's version changes
        when one of its files does (a part file of a day, a batch landing late in an hour)."""
        partitions: dict[str, list[str]] = {}
        for path, version in self.location.file_versions(folder).items():
            if (key := partition_of(path)) is not None:
                partitions.setdefault(key, []).append(version)
        return {key: "+".join(sorted(versions)) for key, versions in partitions.items()}
