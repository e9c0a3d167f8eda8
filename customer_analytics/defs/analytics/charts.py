"""The analytics charts, as PNG bytes for the HTML report and the Dagster UI.

Each chart has a `*_figure` function that builds the matplotlib Figure (tests read its texts)
and a function that renders it to PNG. Figures use matplotlib's object API on the Agg canvas:
no pyplot, so no global figure registry to leak into, and the same output under any backend
setting. Sizes are fixed in inches at DPI, so that each chart has exactly the pixel size that
the report's <img> tags announce.
"""

import base64
import calendar
import io
import math
import struct
from datetime import date

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pyarrow as pa
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, PercentFormatter

from customer_analytics.defs.analytics.rules import SCATTER_POINTS
from customer_analytics.rules.viewing import CATEGORIES

DPI = 100
POPULARITY_SIZE = (900, 500)
SEGMENTS_SIZE = (900, 600)
CORRELATION_SIZE = (700, 600)
TREND_SIZE = (1000, 500)

# One colour per category in every chart (matplotlib's tab10, colour-blind tolerant).
CATEGORY_COLOURS = dict(
    zip(CATEGORIES, ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"), strict=True)
)
# Clusters are not categories: they take another palette, so that no colour means both.
CLUSTER_COLOURS = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000")
# Cells of the correlation matrix without a value (a constant column has no Pearson r).
MISSING_CELL = "#eeeeee"
MISSING_TEXT = "n/a"

SECONDS_PER_HOUR = 3600
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def month_label(month: date) -> str:
    """'March 2024', as the titles of the charts and of the report name a month."""
    return f"{calendar.month_name[month.month]} {month.year}"


def _figure(size: tuple[int, int]) -> Figure:
    width, height = size
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No bbox_inches="tight": it would crop the figure away from its announced size.
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG's IHDR chunk (always the first)."""
    if png[:8] != PNG_SIGNATURE or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", png[16:24])


def _known(category: str) -> str:
    """The category, or a ValueError: a misspelt name would otherwise be a silent zero."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}: expected one of {CATEGORIES}")
    return category


def _hours_by_category(table: pa.Table) -> dict[str, float]:
    """Hours per category, 0 for a category without a row or with a NULL total."""
    hours = dict.fromkeys(CATEGORIES, 0.0)
    for row in table.select(["category", "total_seconds"]).to_pylist():
        hours[_known(row["category"])] += (row["total_seconds"] or 0) / SECONDS_PER_HOUR
    return hours


def _hours_text(hours: float) -> str:
    """'12,345 h', with a decimal below 10 hours so that a small total does not read as 0."""
    return f"{hours:,.1f} h" if hours < 10 else f"{hours:,.0f} h"


def popularity_figure(engagement: pa.Table, month: date) -> Figure:
    """Total hours per category (columns category, total_seconds), the largest on top."""
    hours = _hours_by_category(engagement)
    # Ascending, because barh draws the first bar at the bottom; ties keep CATEGORIES order.
    ranked = sorted(CATEGORIES, key=lambda category: hours[category])
    figure = _figure(POPULARITY_SIZE)
    axes = figure.add_subplot()
    bars = axes.barh(
        ranked,
        [hours[category] for category in ranked],
        color=[CATEGORY_COLOURS[category] for category in ranked],
    )
    axes.bar_label(bars, labels=[_hours_text(hours[category]) for category in ranked], padding=3)
    # Room on the right for the labels; a month without viewing still gets a visible axis.
    axes.set_xlim(0, max(max(hours.values()), 1.0) * 1.15)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.set_title(f"Viewing time per category, {month_label(month)}")
    axes.set_xlabel("Hours watched")
    axes.set_ylabel("Category")
    return figure


def popularity_chart(engagement: pa.Table, month: date) -> bytes:
    return _png(popularity_figure(engagement, month))


def segments_figure(sample: pa.Table, clusters: pa.Table, month: date) -> Figure:
    """The sampled customers (columns hours, top_share, cluster) coloured by cluster, with the
    clusters' descriptions (columns cluster, description) as the legend."""
    if sample.num_rows > SCATTER_POINTS:
        raise ValueError(f"{sample.num_rows:,} points: the chart takes at most {SCATTER_POINTS:,}")
    descriptions = {
        row["cluster"]: row["description"]
        for row in clusters.select(["cluster", "description"]).to_pylist()
    }
    points = sample.select(["hours", "top_share", "cluster"]).to_pylist()
    # A customer who watched nothing has no favourite category, nor a place on a log axis.
    points = [p for p in points if (p["hours"] or 0) > 0 and p["top_share"] is not None]
    numbers = sorted(set(descriptions) | {point["cluster"] for point in points})
    figure = _figure(SEGMENTS_SIZE)
    axes = figure.add_subplot()
    handles = []
    for index, number in enumerate(numbers):
        colour = CLUSTER_COLOURS[index % len(CLUSTER_COLOURS)]
        members = [point for point in points if point["cluster"] == number]
        axes.scatter(
            [point["hours"] for point in members],
            [point["top_share"] for point in members],
            s=10,
            alpha=0.5,
            color=colour,
            linewidths=0,
        )
        label = f"{number}: {descriptions.get(number, 'no description')}"
        # Legend markers of their own: opaque, and present for a cluster without sampled points.
        handles.append(Line2D([], [], marker="o", linestyle="", color=colour, label=label))
    axes.set_xscale("log")
    if not points:
        axes.set_xlim(1, 1000)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,g}"))
    axes.set_ylim(0, 1.02)
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    axes.set_title(f"Customer segments, {month_label(month)}")
    axes.set_xlabel("Hours watched in the month (log scale)")
    axes.set_ylabel("Share of time in the favourite category")
    if handles:
        # One column below the axes: descriptions are long, and the points fill the axes.
        figure.legend(
            handles=handles, loc="outside lower center", fontsize="small", title="Cluster"
        )
    return figure


def segments_scatter(sample: pa.Table, clusters: pa.Table, month: date) -> bytes:
    return _png(segments_figure(sample, clusters, month))


def _correlation_matrix(correlation: pa.Table) -> np.ndarray:
    """Pearson r by (category_a, category_b) in CATEGORIES order; NaN where there is none."""
    position = {category: index for index, category in enumerate(CATEGORIES)}
    matrix = np.full((len(CATEGORIES), len(CATEGORIES)), np.nan)
    for row in correlation.select(["category_a", "category_b", "pearson"]).to_pylist():
        if row["pearson"] is not None:
            cell = position[_known(row["category_a"])], position[_known(row["category_b"])]
            matrix[cell] = row["pearson"]
    return matrix


def correlation_figure(correlation: pa.Table, month: date) -> Figure:
    """The 5x5 Pearson matrix (columns category_a, category_b, pearson), values in the cells."""
    matrix = _correlation_matrix(correlation)
    figure = _figure(CORRELATION_SIZE)
    axes = figure.add_subplot()
    image = axes.imshow(
        np.ma.masked_invalid(matrix),
        cmap=matplotlib.colormaps["RdBu_r"].with_extremes(bad=MISSING_CELL),
        vmin=-1,
        vmax=1,
    )
    for (row, column), value in np.ndenumerate(matrix):
        missing = math.isnan(value)
        axes.text(
            column,
            row,
            MISSING_TEXT if missing else f"{value:.2f}",
            ha="center",
            va="center",
            # Light text on the saturated ends of the scale, dark elsewhere.
            color="white" if not missing and abs(value) > 0.6 else "black",
        )
    ticks = range(len(CATEGORIES))
    axes.set_xticks(ticks, CATEGORIES, rotation=30, ha="right")
    axes.set_yticks(ticks, CATEGORIES)
    axes.set_xlabel("Category")
    axes.set_ylabel("Category")
    axes.set_title(f"Correlation of viewing time between categories, {month_label(month)}")
    figure.colorbar(image, ax=axes, label="Pearson r")
    return figure


def correlation_heatmap(correlation: pa.Table, month: date) -> bytes:
    return _png(correlation_figure(correlation, month))


def trend_figure(trends: pa.Table, month: date) -> Figure:
    """Hours a day per category (columns date, category, total_seconds), one line each."""
    days = sorted(set(trends.column("date").to_pylist()))
    hours = {category: dict.fromkeys(days, 0.0) for category in CATEGORIES}
    for row in trends.select(["date", "category", "total_seconds"]).to_pylist():
        # A day of the table without a row for a category is a day nobody watched it.
        seconds = row["total_seconds"] or 0
        hours[_known(row["category"])][row["date"]] += seconds / SECONDS_PER_HOUR
    figure = _figure(TREND_SIZE)
    axes = figure.add_subplot()
    for category in CATEGORIES:
        axes.plot(
            days,
            list(hours[category].values()),
            color=CATEGORY_COLOURS[category],
            marker="o",
            markersize=3,
            label=category,
        )
    if days:
        # Half a day of margin: the ticks then stay inside the month, a week apart.
        axes.set_xlim(mdates.date2num(days[0]) - 0.5, mdates.date2num(days[-1]) + 0.5)
        axes.xaxis.set_major_locator(mdates.DayLocator(bymonthday=(1, 8, 15, 22, 29)))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.set_title(f"Viewing time per day, {month_label(month)}")
    axes.set_xlabel("Day")
    axes.set_ylabel("Hours watched per day")
    axes.grid(alpha=0.3)
    figure.legend(loc="outside right upper", title="Category")
    return figure


def trend_chart(trends: pa.Table, month: date) -> bytes:
    return _png(trend_figure(trends, month))


def markdown_image(png: bytes, title: str) -> str:
    """Markdown showing the PNG inline (a data URI), as a Dagster Markdown metadata value."""
    alt = title.replace("[", "\\[").replace("]", "\\]")
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
