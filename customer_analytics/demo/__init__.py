"""`make demo`: each step launched with the `dg` CLI, one line of progress per step, then the
profiles and where to look next. The full logs of every step stay in the instance and in
`$DAGSTER_HOME/logs/demo/`."""
