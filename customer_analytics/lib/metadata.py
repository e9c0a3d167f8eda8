"""Materialization metadata that every stored table carries in the UI."""

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

PREVIEW_ROWS = 5
# A value shown in metadata, a log line or an error message is cut to this many characters: a
# dirty line can be megabytes long, and each copy of it would land in the event log.
PREVIEW_CHARS = 200
OWNERS = ["team:data-engineering"]


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=field.name,
                type=str(field.type),
                description=(field.metadata or {}).get(b"description", b"").decode() or None,
                constraints=dg.TableColumnConstraints(nullable=field.nullable),
            )
            for field in schema
        ]
    )


def shortened(value: object, limit: int = PREVIEW_CHARS) -> str:
    """`value` as text, cut to `limit` characters with a note of how many were left out."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…(+{len(text) - limit:,} chars)"


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = shortened(value)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_preview(table: pa.Table, rows: int = PREVIEW_ROWS) -> str:
    head = table.slice(0, rows).to_pylist()
    lines = ["| " + " | ".join(table.column_names) + " |", "|" + "---|" * table.num_columns]
    lines += ["| " + " | ".join(_cell(value) for value in row.values()) + " |" for row in head]
    return "\n".join(lines)


def table_metadata(source: pa.Table | ds.Dataset) -> dict[str, dg.MetadataValue]:
    """Row count, columns and a preview; a dataset is counted from its files' footers and
    previewed from its first rows, never loaded."""
    if isinstance(source, ds.Dataset):
        rows, head = source.count_rows(), source.head(PREVIEW_ROWS)
    else:
        rows, head = source.num_rows, source
    return {
        "dagster/row_count": dg.MetadataValue.int(rows),
        "dagster/column_schema": dg.MetadataValue.table_schema(column_schema(source.schema)),
        "preview": dg.MetadataValue.md(markdown_preview(head)),
    }


def stored_table(schema: pa.Schema, partition_expr: str | None = None) -> dict[str, object]:
    """Definition metadata of a stored table: its columns (shown before the first run) and
    the column that holds its partition (read by the IO managers)."""
    metadata: dict[str, object] = {"dagster/column_schema": column_schema(schema)}
    if partition_expr:
        metadata["partition_expr"] = partition_expr
    return metadata


def column_lineage(deps: dict[str, list[tuple[str, str]]]) -> dg.MetadataValue:
    """`{"column": [("upstream asset", "upstream column"), ...]}` as Dagster column lineage."""
    return dg.MetadataValue.column_lineage(
        dg.TableColumnLineage(
            deps_by_column={
                column: [
                    dg.TableColumnDep(asset_key=asset, column_name=name) for asset, name in sources
                ]
                for column, sources in deps.items()
            }
        )
    )


def value_counts(table: pa.Table, column: str) -> dict[str, int]:
    """Rows per value of a column of a small table, for a JSON metadata value."""
    if not table.num_rows:
        return {}
    return {
        str(item["values"]): item["counts"] for item in pc.value_counts(table[column]).to_pylist()
    }
