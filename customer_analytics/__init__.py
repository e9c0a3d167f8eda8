"""Per-customer viewing and search profiles for an OTT service, as a Dagster asset graph."""
