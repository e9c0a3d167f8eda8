"""The analytics charts: valid PNGs of the announced pixel sizes, readable texts, one colour per
category, and inputs with gaps (a category without viewing, NULL correlations, no points)."""

import base64
import io
import re
import struct
from datetime import date, timedelta

import matplotlib.image
import pyarrow as pa
import pytest
from matplotlib.colors import to_hex

from customer_analytics.defs.analytics import charts

MONTH = date(2024, 3, 1)
CATEGORIES = ("Giai Tri", "Phim Truyen", "The Thao", "Thieu Nhi", "Truyen Hinh")
HOUR = 3600


def _ihdr_size(png: bytes) -> tuple[int, int]:
    """Width and height as the PNG's header states them (signature, then the IHDR chunk)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _decoded_size(png: bytes) -> tuple[int, int]:
    """Width and height of the decoded pixels: the image is whole, not just its header."""
    height, width, _ = matplotlib.image.imread(io.BytesIO(png), format="png").shape
    return width, height


def _engagement(hours: dict[str, int]) -> pa.Table:
    return pa.table(
        {
            "category": list(hours),
            "total_seconds": pa.array([h * HOUR for h in hours.values()], pa.int64()),
        }
    )


def _correlation(pearson: dict[tuple[str, str], float | None]) -> pa.Table:
    return pa.table(
        {
            "category_a": [a for a, _ in pearson],
            "category_b": [b for _, b in pearson],
            "pearson": pa.array(list(pearson.values()), pa.float64()),
        }
    )


def _full_correlation() -> pa.Table:
    """Every ordered pair; The Thao had a constant column, so its off-diagonal r is NULL."""
    pearson = {}
    for a in CATEGORIES:
        for b in CATEGORIES:
            pearson[a, b] = 1.0 if a == b else None if "The Thao" in (a, b) else -0.354
    return _correlation(pearson)


def _trends(days: int, skip: str | None = None) -> pa.Table:
    rows = [
        (MONTH + timedelta(days=day), category, (day + 1) * HOUR)
        for day in range(days)
        for category in CATEGORIES
        if category != skip
    ]
    return pa.table(
        {
            "date": pa.array([row[0] for row in rows], pa.date32()),
            "category": [row[1] for row in rows],
            "total_seconds": pa.array([row[2] for row in rows], pa.int64()),
        }
    )


SAMPLE = pa.table(
    {
        "hours": [0.5, 12.0, 80.0, 150.0],
        "top_share": [1.0, 0.4, 0.9, 0.55],
        "cluster": pa.array([2, 2, 1, 1], pa.int64()),
    }
)
CLUSTERS = pa.table(
    {
        "cluster": pa.array([1, 2], pa.int64()),
        "description": [
            "heavy The Thao viewers, 24 days a month",
            "light Phim Truyen and Truyen Hinh viewers, 3 days a month",
        ],
    }
)

CHARTS = {
    "popularity": (
        lambda: charts.popularity_chart(_engagement({"Giai Tri": 12, "Truyen Hinh": 900}), MONTH),
        (900, 500),
    ),
    "segments": (lambda: charts.segments_scatter(SAMPLE, CLUSTERS, MONTH), (900, 600)),
    "correlation": (lambda: charts.correlation_heatmap(_full_correlation(), MONTH), (700, 600)),
    "trend": (lambda: charts.trend_chart(_trends(31), MONTH), (1000, 500)),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_each_chart_is_a_png_of_its_announced_size(name):
    render, size = CHARTS[name]
    png = render()
    assert _ihdr_size(png) == size
    assert _decoded_size(png) == size
    assert charts.png_size(png) == size


def test_png_size_refuses_what_is_not_a_png():
    with pytest.raises(ValueError, match="not a PNG"):
        charts.png_size(b"GIF89a" + bytes(30))


def _bar_labels(figure) -> dict[str, str]:
    """Category → the text written at the end of its bar."""
    axes = figure.axes[0]
    names = [label.get_text() for label in axes.get_yticklabels()]
    return dict(zip(names, [text.get_text() for text in axes.texts], strict=True))


def test_popularity_names_every_category_and_writes_its_hours():
    # Thieu Nhi has no row and The Thao has zero seconds: both are drawn as 0.
    engagement = _engagement({"Giai Tri": 12, "Phim Truyen": 2, "The Thao": 0, "Truyen Hinh": 1500})
    figure = charts.popularity_figure(engagement, MONTH)
    axes = figure.axes[0]
    assert _bar_labels(figure) == {
        "Thieu Nhi": "0.0 h",
        "The Thao": "0.0 h",
        "Phim Truyen": "2.0 h",
        "Giai Tri": "12 h",
        "Truyen Hinh": "1,500 h",
    }
    # The largest on top (barh draws its first bar at the bottom).
    assert [label.get_text() for label in axes.get_yticklabels()][-1] == "Truyen Hinh"
    assert axes.get_title() == "Viewing time per category, March 2024"
    assert axes.get_xlabel() == "Hours watched"
    assert _ihdr_size(charts.popularity_chart(engagement, MONTH)) == (900, 500)


def test_popularity_of_a_month_without_viewing():
    png = charts.popularity_chart(_engagement({}), MONTH)
    assert _ihdr_size(png) == (900, 500)


def test_a_misspelt_category_is_refused():
    with pytest.raises(ValueError, match="unknown category 'Thethao'"):
        charts.popularity_chart(_engagement({"Thethao": 3}), MONTH)


def test_the_heatmap_writes_every_value_and_n_a_for_null():
    figure = charts.correlation_figure(_full_correlation(), MONTH)
    axes = figure.axes[0]
    texts = [text.get_text() for text in axes.texts]
    # Row by row in CATEGORIES order; the third row and column are The Thao's.
    r = "-0.35"
    assert texts == [
        *("1.00", r, "n/a", r, r),
        *(r, "1.00", "n/a", r, r),
        *("n/a", "n/a", "1.00", "n/a", "n/a"),
        *(r, r, "n/a", "1.00", r),
        *(r, r, "n/a", r, "1.00"),
    ]
    assert [label.get_text() for label in axes.get_xticklabels()] == list(CATEGORIES)
    assert [label.get_text() for label in axes.get_yticklabels()] == list(CATEGORIES)
    colour_bar = figure.axes[1]
    assert colour_bar.get_ylabel() == "Pearson r"
    assert axes.get_title().endswith("March 2024")


def test_the_heatmap_shows_missing_pairs_as_empty_cells():
    pearson = {("Giai Tri", "Giai Tri"): 1.0, ("Giai Tri", "Thieu Nhi"): None}
    figure = charts.correlation_figure(_correlation(pearson), MONTH)
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts[0] == "1.00"
    assert texts.count("n/a") == 24
    png = charts.correlation_heatmap(_correlation(pearson), MONTH)
    assert _ihdr_size(png) == (700, 600)


def test_the_scatter_is_log_scaled_and_its_legend_describes_the_clusters():
    figure = charts.segments_figure(SAMPLE, CLUSTERS, MONTH)
    axes = figure.axes[0]
    assert axes.get_xscale() == "log"
    assert axes.get_xlabel() == "Hours watched in the month (log scale)"
    assert axes.get_ylabel() == "Share of time in the favourite category"
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == [
        "1: heavy The Thao viewers, 24 days a month",
        "2: light Phim Truyen and Truyen Hinh viewers, 3 days a month",
    ]
    assert [len(points.get_offsets()) for points in axes.collections] == [2, 2]


def test_the_scatter_leaves_out_customers_who_watched_nothing():
    sample = pa.table(
        {
            "hours": [0.0, 4.0],
            "top_share": pa.array([None, 0.75], pa.float64()),
            "cluster": pa.array([2, 1], pa.int64()),
        }
    )
    figure = charts.segments_figure(sample, CLUSTERS, MONTH)
    assert [len(points.get_offsets()) for points in figure.axes[0].collections] == [1, 0]
    assert _ihdr_size(charts.segments_scatter(sample, CLUSTERS, MONTH)) == (900, 600)


def test_the_scatter_of_an_empty_sample():
    empty = SAMPLE.slice(0, 0)
    assert _ihdr_size(charts.segments_scatter(empty, CLUSTERS.slice(0, 0), MONTH)) == (900, 600)


def test_the_scatter_refuses_more_points_than_its_sample():
    many = pa.table({"hours": [1.0] * 5001, "top_share": [0.5] * 5001, "cluster": [1] * 5001})
    with pytest.raises(ValueError, match="at most 5,000"):
        charts.segments_scatter(many, CLUSTERS, MONTH)


def test_the_trend_has_a_line_per_category_even_one_never_watched():
    figure = charts.trend_figure(_trends(3, skip="Thieu Nhi"), MONTH)
    axes = figure.axes[0]
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert list(lines) == list(CATEGORIES)
    assert list(lines["Giai Tri"].get_ydata()) == [1.0, 2.0, 3.0]
    assert list(lines["Thieu Nhi"].get_ydata()) == [0.0, 0.0, 0.0]
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == list(CATEGORIES)
    assert axes.get_ylabel() == "Hours watched per day"
    assert axes.get_title() == "Viewing time per day, March 2024"


def test_the_trend_of_a_month_without_days():
    assert _ihdr_size(charts.trend_chart(_trends(0), MONTH)) == (1000, 500)


def test_a_category_has_the_same_colour_in_every_chart():
    engagement = _engagement(dict.fromkeys(CATEGORIES, 5))
    bars = charts.popularity_figure(engagement, MONTH).axes[0]
    bar_colours = {
        label.get_text(): to_hex(patch.get_facecolor())
        for label, patch in zip(bars.get_yticklabels(), bars.patches, strict=True)
    }
    lines = charts.trend_figure(_trends(2), MONTH).axes[0].get_lines()
    line_colours = {line.get_label(): to_hex(line.get_color()) for line in lines}
    assert bar_colours == line_colours
    assert len(set(bar_colours.values())) == len(CATEGORIES)


def test_markdown_image_embeds_the_png_bytes():
    png = charts.popularity_chart(_engagement({"Giai Tri": 1}), MONTH)
    markdown = charts.markdown_image(png, "Viewing time per category")
    found = re.fullmatch(r"!\[Viewing time per category\]\(data:image/png;base64,(.+)\)", markdown)
    assert found
    assert base64.b64decode(found[1], validate=True) == png
