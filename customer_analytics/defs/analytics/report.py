"""The month's analytics report: its charts as PNG files and a standalone index.html beside them.

The page is built from strings, every value passed through `html.escape`: it holds a handful of
figures and small tables, which a template engine would not make clearer.
"""

import html
import math
import re
from datetime import date
from typing import Any

import pyarrow as pa

from customer_analytics.defs.analytics.charts import month_label, png_size
from customer_analytics.engines.storage import Location
from customer_analytics.lib.folder import Folder

# A chart's name becomes a file name and a relative URL: plain characters only.
CHART_NAME = re.compile(r"[A-Za-z0-9_-]+")
MISSING_VALUE = "n/a"
STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1040px; color: #222; }
figure { margin: 2em 0; }
figcaption { color: #555; }
table { border-collapse: collapse; margin: 2em 0; }
caption { font-weight: bold; text-align: left; padding: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
"""


def _caption(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _figure_html(name: str, png: bytes, month: date) -> str:
    width, height = png_size(png)
    caption = html.escape(_caption(name))
    alt = html.escape(f"{_caption(name)}, {month_label(month)}")
    return (
        f'<figure><img src="{name}.png" width="{width}" height="{height}" alt="{alt}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _cell_text(value: Any) -> str:
    """A value as shown in a table: thousands separators, 2 decimals from 1 up and 4 below
    (shares and correlations), ISO dates, and MISSING_VALUE for NULL or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_VALUE
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _cell_html(value: Any) -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    attributes = ' class="number"' if numeric else ""
    return f"<td{attributes}>{html.escape(_cell_text(value))}</td>"


def _table_html(title: str, table: pa.Table) -> str:
    header = "".join(f"<th>{html.escape(name)}</th>" for name in table.column_names)
    rows = "\n".join(
        "<tr>" + "".join(_cell_html(value) for value in row.values()) + "</tr>"
        for row in table.to_pylist()
    )
    return (
        f"<table><caption>{html.escape(title)}</caption>\n"
        f"<thead><tr>{header}</tr></thead>\n<tbody>\n{rows}\n</tbody></table>"
    )


def _report_html(month: date, charts: dict[str, bytes], tables: dict[str, pa.Table]) -> str:
    """The standalone page: a title, each chart (files named after it, beside the page) with
    its pixel size, then each table."""
    title = html.escape(f"Customer analytics, {month_label(month)}")
    body = [f"<h1>{title}</h1>"]
    body += [_figure_html(name, png, month) for name, png in charts.items()]
    body += [_table_html(table_title, table) for table_title, table in tables.items()]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _write_bytes(reports: Location, relative: str, data: bytes) -> None:
    reports.write(relative, lambda sink: sink.write(data))


def write_report(
    reports: Location, month: date, charts: dict[str, bytes], tables: dict[str, pa.Table]
) -> str:
    """Writes `<YYYY-MM>/<name>.png` for each chart and `<YYYY-MM>/index.html`; returns the
    index's full URI."""
    unsafe = sorted(name for name in charts if not CHART_NAME.fullmatch(name))
    if unsafe:
        raise ValueError(f"chart names must match {CHART_NAME.pattern}: {unsafe}")
    folder = f"{month:%Y-%m}"
    for name, png in charts.items():
        _write_bytes(reports, f"{folder}/{name}.png", png)
    # The page last: once it is there, so is every image it shows.
    _write_bytes(reports, f"{folder}/index.html", _report_html(month, charts, tables).encode())
    return reports.describe(f"{folder}/index.html")


class Reports(Folder):
    """The analytics reports: `<YYYY-MM>/index.html` and its charts, one folder a month."""
