"""The text cells of the CSV files written for people, made safe to open in a spreadsheet.

Excel, LibreOffice Calc and Google Sheets read a cell that begins with `=`, `+`, `-` or `@` as
a formula, which can start a program or send the sheet's data away (`=cmd|' /C calc'!A0`,
`=HYPERLINK(...)`); a tab or a carriage return in front of one does not stop them. As OWASP
advises ("CSV Injection"), such a text cell is written with a single quote in front, which the
spreadsheet shows as text. Only text columns are changed: a number, a date or a time is written
as it is, so a negative number stays a number.
"""

import pyarrow as pa
import pyarrow.compute as pc

# The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Put in front of such a cell: the spreadsheet shows the rest as text.
TEXT_MARK = "'"


def _text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def neutralized(cells: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text cells with TEXT_MARK in front of those that begin with one of FORMULA_STARTS;
    NULL stays NULL."""
    first = pc.utf8_slice_codeunits(cells, 0, 1)
    formula = pc.is_in(first, value_set=pa.array(FORMULA_STARTS, cells.type))
    marked = pc.binary_join_element_wise(
        pa.scalar(TEXT_MARK, cells.type), cells, pa.scalar("", cells.type)
    )
    return pc.if_else(formula, marked, cells)


def spreadsheet_safe(table: pa.Table) -> pa.Table:
    """`table` with its text columns `neutralized`, its other columns as they are."""
    for index, field in enumerate(table.schema):
        if _text(field.type):
            table = table.set_column(index, field, neutralized(table.column(index)))
    return table
