"""The hand-made search fixtures of these tests hold the first day of a month (June also the
second), not the fourteen days of the real export: they declare an export window of day 1, so
that `monthly_top_keyword` runs on them. The window itself is tested in test_partial_month.py,
which keeps the default window."""

import pytest


@pytest.fixture(autouse=True)
def export_window_of_day_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Autouse: set before the `project` fixture reads the environment.
    monkeypatch.setenv("SEARCH_EXPORT_DAYS", "1")
