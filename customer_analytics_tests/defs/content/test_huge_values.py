"""A line of megabytes among the quarantined rows: it is stored whole in the quarantine, but
no event of the run (materializations, check results, log lines) carries more than a preview
of it."""

from datetime import date

import dagster as dg
import pyarrow as pa

from customer_analytics.defs.content.assets import raw_log_content
from customer_analytics.lib.metadata import PREVIEW_CHARS, markdown_preview, shortened
from customer_analytics_tests.conftest import content_line

DAY = date(2022, 4, 1)
HUGE_CHARS = 6_000_000
MAX_EVENT_BYTES = 50_000


def test_a_cell_is_cut_with_the_count_of_what_was_left_out():
    assert shortened("x" * PREVIEW_CHARS) == "x" * PREVIEW_CHARS
    assert shortened("x" * 1_000_250) == "x" * PREVIEW_CHARS + "…(+1,000,050 chars)"
    preview = markdown_preview(pa.table({"raw_line": ["a|b\r\nc" + "y" * 5_000, None]}))
    rows = preview.splitlines()
    assert len(rows) == 4  # header, rule, two rows: no line break leaks out of a cell
    assert rows[2].startswith("| a\\|b  c") and rows[2].endswith("…(+4,806 chars) |")
    assert rows[3] == "|  |"


def test_a_quarantined_line_of_megabytes_keeps_every_event_of_the_run_small(project, instance):
    huge = '{"_id": "huge", "_source": "' + "x" * HUGE_CHARS + '"}'  # no _source object
    lines = [content_line(f"id{n}", f"HNH{n:06d}", "KPLUS", 60) for n in range(40)]
    project.write_content_day(DAY, [*lines[:20], huge, *lines[20:]])

    result = dg.materialize(
        [raw_log_content],
        resources=project.resources(),
        instance=instance,
        partition_key=str(DAY),
    )

    assert result.success
    quarantine = project.lake.dataset_of_folder("content_quarantine").to_table().to_pylist()
    assert [(row["reason"], len(row["raw_line"])) for row in quarantine] == [
        ("missing_source", len(huge))
    ]
    sizes = {
        f"{record.event_log_entry.dagster_event_type or 'log'} {index}": len(
            dg.serialize_value(record.event_log_entry)
        )
        for index, record in enumerate(instance.get_records_for_run(result.run_id).records)
    }
    assert max(sizes.values()) < MAX_EVENT_BYTES, sorted(sizes.items(), key=lambda i: -i[1])[:3]
    (materialization,) = [
        event
        for event in result.asset_materializations_for_node("raw_log_content")
        if event.asset_key == dg.AssetKey("content_quarantine")
    ]
    assert f"…(+{len(huge) - PREVIEW_CHARS:,} chars)" in materialization.metadata["preview"].value
