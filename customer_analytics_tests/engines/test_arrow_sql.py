"""The CASE of quarantine reasons is built from a rules module's order of reasons."""

import duckdb
import pytest

from customer_analytics.engines import content, search
from customer_analytics.engines.arrow_sql import first_failing_reason_sql
from customer_analytics.rules import content as content_rules
from customer_analytics.rules import search as search_rules


def test_case_names_the_first_reason_whose_condition_holds():
    case = first_failing_reason_sql({"b": "x > 1", "a": "x > 5"}, ("a", "b"))
    assert case == "CASE WHEN x > 5 THEN 'a' WHEN x > 1 THEN 'b' END"
    rows = duckdb.sql(f"SELECT x, {case} FROM (VALUES (0), (3), (9)) t(x) ORDER BY x").fetchall()
    assert rows == [(0, None), (3, "b"), (9, "a")]


@pytest.mark.parametrize(
    ("conditions", "reasons"),
    [
        pytest.param({"a": "true"}, ("a", "b"), id="reason-without-condition"),
        pytest.param({"a": "true", "b": "true", "c": "true"}, ("a", "b"), id="condition-without-reason"),
        pytest.param({"a": "true"}, ("a", "a"), id="repeated-reason"),
    ],
)  # fmt: skip
def test_conditions_must_match_the_reasons(conditions, reasons):
    with pytest.raises(ValueError, match="do not match"):
        first_failing_reason_sql(conditions, reasons)


def test_engines_give_a_condition_for_every_reason():
    assert list(content.REASON_CONDITIONS) == list(content_rules.QUARANTINE_REASONS)
    assert list(search.REASON_CONDITIONS) == list(search_rules.QUARANTINE_REASONS)
