"""The core's building blocks of assets, shared by the domains: the raw-ingest factory, checks,
staging, folders, partitions, automation, retries, alerts, metadata."""
