"""Which daily partition a file of a nightly export belongs to, as the new-files sensors read
the landing zone."""

import pytest

from customer_analytics.lib.landing import LandingZone, day_of_path


@pytest.mark.parametrize(
    "path, day",
    [
        ("log_content/20220401.json", "2022-04-01"),
        ("log_search/20220601/part-0.parquet", "2022-06-01"),
        ("log_search/20220601/part-00017-abc.snappy.parquet", "2022-06-01"),
        ("log_content/20220401.json.tmp", None),  # a write in progress
        ("log_content/2022041.json", None),  # seven digits
        ("log_content/notes.txt", None),
        ("log_search/2022060A/part-0.parquet", None),
        ("log_search/20220601", None),  # a file named as a day folder
    ],
)
def test_the_day_of_a_path(path, day):
    assert day_of_path(path) == day


def test_a_day_is_present_once_with_a_version_per_file(tmp_path):
    folder = tmp_path / "log_search" / "20220601"
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(b"a")
    landing = LandingZone(uri=str(tmp_path))
    one_part = landing.arrived("log_search", day_of_path)
    assert list(one_part) == ["2022-06-01"]

    (folder / "part-1.parquet").write_bytes(b"b")
    two_parts = landing.arrived("log_search", day_of_path)
    assert list(two_parts) == ["2022-06-01"]
    assert two_parts["2022-06-01"] != one_part["2022-06-01"]
    assert two_parts["2022-06-01"].count("+") == 1  # the versions of both part files
