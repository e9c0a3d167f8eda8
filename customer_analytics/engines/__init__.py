"""The engines: DuckDB and Spark behind one interface. They run every domain's SQL, read and
write files, and know nothing of Dagster."""
