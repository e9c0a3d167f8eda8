"""Dagster definitions, one folder per domain, discovered by `definitions.py`."""
