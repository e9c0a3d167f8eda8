"""How the rules write SQL: string literals, and the CASE of quarantine reasons built from a
rules module's order of reasons."""

import duckdb
import pytest

from customer_analytics.defs.content import rules as content_rules
from customer_analytics.defs.search import rules as search_rules
from customer_analytics.rules.sql import first_failing_reason, literal, literals


def test_case_names_the_first_reason_whose_condition_holds():
    case = first_failing_reason({"b": "x > 1", "a": "x > 5"}, ("a", "b"))
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
        first_failing_reason(conditions, reasons)


def test_a_reason_with_a_quote_is_a_well_formed_literal():
    case = first_failing_reason({"it's": "true"}, ("it's",))
    assert case == "CASE WHEN true THEN 'it''s' END"
    assert duckdb.sql(f"SELECT {case}").fetchone() == ("it's",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("abc", "'abc'", id="plain"),
        pytest.param("", "''", id="empty"),
        pytest.param("it's", "'it''s'", id="quote-doubled"),
        pytest.param("''", "''''''", id="two-quotes"),
        pytest.param("'", "''''", id="only-a-quote"),
        pytest.param('say "hi"', "'say \"hi\"'", id="double-quotes-kept"),
        pytest.param("a\\b", "'a\\b'", id="backslash-kept"),
        pytest.param("Tìm kiếm", "'Tìm kiếm'", id="unicode"),
    ],
)
def test_literal_doubles_quotes(text, expected):
    assert literal(text) == expected


@pytest.mark.parametrize(
    "text", ["abc", "", "it's", "''", "'", 'say "hi"', "Tìm kiếm", "'; DROP TABLE t; --"]
)
def test_literal_reads_back_as_the_text(text):
    assert duckdb.sql(f"SELECT {literal(text)}").fetchone() == (text,)


def test_literals_for_in():
    assert literals(("", "0", "NULL", "it's")) == "'', '0', 'NULL', 'it''s'"
    assert literals(()) == ""


def test_rules_give_a_condition_for_every_reason_in_order():
    assert list(content_rules.REASON_CONDITIONS) == list(content_rules.QUARANTINE_REASONS)
    assert list(search_rules.REASON_CONDITIONS) == list(search_rules.QUARANTINE_REASONS)
