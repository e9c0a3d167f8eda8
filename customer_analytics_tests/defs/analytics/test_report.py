"""The HTML report: its files under the month's folder, every chart with its pixel size, and
tables whose cells are escaped and whose numbers are formatted."""

import struct
from datetime import date

import pyarrow as pa
import pytest

from customer_analytics.defs.analytics import charts
from customer_analytics.defs.analytics.report import write_report
from customer_analytics.engines.storage import Location

MONTH = date(2024, 3, 1)


@pytest.fixture(scope="module")
def chart_files() -> dict[str, bytes]:
    engagement = pa.table({"category": ["The Thao"], "total_seconds": pa.array([7200], pa.int64())})
    correlation = pa.table(
        {"category_a": ["Giai Tri"], "category_b": ["Giai Tri"], "pearson": [1.0]}
    )
    return {
        "popularity": charts.popularity_chart(engagement, MONTH),
        "correlation_heatmap": charts.correlation_heatmap(correlation, MONTH),
    }


TABLES = {
    "Content engagement": pa.table(
        {
            "category": ["The Thao", "<b>&"],
            "total_seconds": pa.array([1234567, 5], pa.int64()),
            "mean_seconds": [12345.678, 2.5],
            "stddev_seconds": pa.array([None, 0.5], pa.float64()),
            "share": [0.123456, 0.0],
        }
    ),
    "Churn risk": pa.table({"month": pa.array([MONTH], pa.date32()), "score": [0.73]}),
}


def _index(tmp_path) -> str:
    return (tmp_path / "2024-03" / "index.html").read_text(encoding="utf-8")


def test_the_report_writes_the_charts_and_the_page(tmp_path, chart_files):
    uri = write_report(Location(str(tmp_path)), MONTH, chart_files, TABLES)
    assert uri == f"{tmp_path}/2024-03/index.html"
    assert sorted(path.name for path in (tmp_path / "2024-03").iterdir()) == [
        "correlation_heatmap.png",
        "index.html",
        "popularity.png",
    ]
    for name, png in chart_files.items():
        assert (tmp_path / "2024-03" / f"{name}.png").read_bytes() == png


def test_the_page_shows_every_chart_with_its_size(tmp_path, chart_files):
    write_report(Location(str(tmp_path)), MONTH, chart_files, TABLES)
    page = _index(tmp_path)
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>Customer analytics, March 2024</h1>" in page
    assert "<title>Customer analytics, March 2024</title>" in page
    for name, png in chart_files.items():
        width, height = struct.unpack(">II", png[16:24])
        assert f'<img src="{name}.png" width="{width}" height="{height}" alt="' in page
    assert '<img src="popularity.png" width="900" height="500"' in page
    assert '<img src="correlation_heatmap.png" width="700" height="600"' in page
    assert 'alt="Correlation heatmap, March 2024"><figcaption>Correlation heatmap<' in page


def test_the_tables_are_escaped_and_formatted(tmp_path, chart_files):
    write_report(Location(str(tmp_path)), MONTH, chart_files, TABLES)
    page = _index(tmp_path)
    assert "<caption>Content engagement</caption>" in page
    assert "<th>total_seconds</th>" in page
    assert "<td>&lt;b&gt;&amp;</td>" in page
    assert "<b>&" not in page
    for number in ("1,234,567", "12,345.68", "2.50", "0.1235", "0.0000", "0.5000", "0.7300"):
        assert f'<td class="number">{number}</td>' in page
    assert "<td>n/a</td>" in page  # the NULL standard deviation
    assert "<td>2024-03-01</td>" in page


def test_a_report_without_tables(tmp_path, chart_files):
    write_report(Location(str(tmp_path)), MONTH, chart_files, {})
    assert "<table" not in _index(tmp_path)


def test_a_chart_name_that_is_no_plain_file_name_is_refused(tmp_path, chart_files):
    unsafe = {"../popularity": chart_files["popularity"]}
    with pytest.raises(ValueError, match="chart names"):
        write_report(Location(str(tmp_path)), MONTH, unsafe, TABLES)
    assert list(tmp_path.iterdir()) == []
