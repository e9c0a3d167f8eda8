"""Text cells a spreadsheet would run as formulas get a single quote in front; nothing else
changes. Every expected value is written out by hand."""

from datetime import date

import pyarrow as pa
import pytest

from customer_analytics.rules.csv_cells import neutralized, spreadsheet_safe

CELLS = [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("+1", "'+1"),
    ("-2", "'-2"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    # A trigger not at the start, or a first character outside OWASP's list: unchanged.
    ("HNH579912", "HNH579912"),
    ("a=b", "a=b"),
    (" =1", " =1"),
    ("\n=1", "\n=1"),
    ("\uff1d1", "\uff1d1"),  # FULLWIDTH EQUALS SIGN
    ("'=x", "'=x"),
    ("", ""),
    (None, None),
]


@pytest.mark.parametrize("text_type", [pa.string(), pa.large_string()])
def test_cells_that_begin_a_formula_get_a_single_quote(text_type):
    cells = pa.chunked_array([pa.array([cell for cell, _ in CELLS], text_type)])
    safe = neutralized(cells)
    assert safe.type == text_type
    assert safe.to_pylist() == [expected for _, expected in CELLS]


def test_only_text_columns_change():
    schema = pa.schema(
        [
            pa.field("month", pa.date32(), nullable=False),
            pa.field("Contract", pa.string(), nullable=False),
            pa.field("Active", pa.int64()),
            pa.field("score", pa.float64()),
            pa.field("Taste", pa.large_string()),
        ],
        metadata={"primary_key": "month,Contract"},
    )
    table = pa.Table.from_pylist(
        [
            {
                "month": date(2022, 4, 1),
                "Contract": "-C1",
                "Active": -3,
                "score": -1.5,
                "Taste": "@x",
            },
            {"month": date(2022, 4, 1), "Contract": "C2", "Active": 2, "score": 0.5, "Taste": None},
        ],
        schema=schema,
    )
    safe = spreadsheet_safe(table)
    assert safe.schema == schema
    assert safe.to_pylist() == [
        {
            "month": date(2022, 4, 1),
            "Contract": "'-C1",
            "Active": -3,
            "score": -1.5,
            "Taste": "'@x",
        },
        {"month": date(2022, 4, 1), "Contract": "C2", "Active": 2, "score": 0.5, "Taste": None},
    ]
