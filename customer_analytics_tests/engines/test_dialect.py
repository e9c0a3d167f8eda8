"""render(): the rules' DuckDB SQL for Spark, and the same answers from both engines.

Every rule expression the rules modules export (each public `*_sql` function, found by name, so a
new rule is covered) is rendered for both dialects and evaluated on hand-made rows in DuckDB and
in Spark. The expected values are written out from docs/contract.md §3, so the test fails if
either engine answers wrong, not only if they disagree. The functions render() lets through are
checked the same way, each on a few literal cases.
"""

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import duckdb
import pyarrow as pa
import pytest
import sqlglot

import customer_analytics.defs
import customer_analytics.rules
from customer_analytics.engines.dialect import ANONYMOUS_SAME_IN_BOTH, SAME_IN_BOTH, render
from customer_analytics.rules.identifiers import MAX_CONTRACT_LENGTH
from customer_analytics.rules.text import trimmed_sql
from customer_analytics.rules.viewing import TOTAL_COLUMNS

# createDataFrame checks the installed pandas even when given plain rows.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)


def _rule_modules() -> dict[str, ModuleType]:
    """The core's rule helpers (customer_analytics.rules.*) and each domain's rules, by the
    name of the module or of the domain."""
    modules = {
        info.name: f"{customer_analytics.rules.__name__}.{info.name}"
        for info in pkgutil.iter_modules(customer_analytics.rules.__path__)
    }
    domains = Path(customer_analytics.defs.__path__[0])
    modules |= {
        rules.parent.name: f"{customer_analytics.defs.__name__}.{rules.parent.name}.rules"
        for rules in domains.glob("*/rules.py")
    }
    return {name: importlib.import_module(module) for name, module in modules.items()}


def _rule_functions() -> dict[str, Callable[..., str]]:
    """Every public function of the rules whose name ends in `_sql`."""
    found = {}
    for module_name, module in _rule_modules().items():
        for name, function in inspect.getmembers(module, inspect.isfunction):
            public_rule = name.endswith("_sql") and not name.startswith("_")
            if public_rule and function.__module__ == module.__name__:  # not a sibling's import
                found[f"{module_name}.{name}"] = function
    return found


RULES = _rule_functions()
COLUMN_NAMES = ("value", "other", "third")


def _rule_sql(key: str) -> str:
    """The rule's SQL: over the columns `value`, `other`, ... if it takes column names (the
    parameters with a default keep it)."""
    function = RULES[key]
    names = [p for p in inspect.signature(function).parameters.values() if p.default is p.empty]
    return function(*COLUMN_NAMES[: len(names)])


# --- running SQL on both engines -----------------------------------------------------------------

ARROW_TYPES = {"string": pa.string(), "bigint": pa.int64(), "date": pa.date32()}


def _spark_plain(value):
    """A value from Spark as DuckDB's Python client gives it (Row → dict, nested)."""
    if hasattr(value, "asDict"):
        return {key: _spark_plain(item) for key, item in value.asDict().items()}
    if isinstance(value, list):
        return [_spark_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _spark_plain(item) for key, item in value.items()}
    return value


def _spark_view(spark, name: str, columns: dict[str, str], rows: list[tuple]) -> None:
    from pyspark.sql import types

    spark_types = {
        "string": types.StringType(),
        "bigint": types.LongType(),
        "date": types.DateType(),
    }
    schema = types.StructType(
        [types.StructField(column, spark_types[kind]) for column, kind in columns.items()]
    )
    spark.createDataFrame(rows, schema).createOrReplaceTempView(name)


def _arrow_table(columns: dict[str, str], rows: list[tuple]) -> pa.Table:
    arrays = {
        column: pa.array([row[i] for row in rows], ARROW_TYPES[kind])
        for i, (column, kind) in enumerate(columns.items())
    }
    return pa.table(arrays)


def run_both(spark, query: str, **tables: tuple[dict[str, str], list[tuple]]):
    """The rows of `query` (DuckDB SQL) from DuckDB and from Spark, each table registered."""
    with duckdb.connect() as con:
        for name, (columns, rows) in tables.items():
            con.register(name, _arrow_table(columns, rows))
        duckdb_rows = [tuple(row) for row in con.sql(render(query, "duckdb")).fetchall()]
    for name, (columns, rows) in tables.items():
        _spark_view(spark, name, columns, rows)
    spark_rows = [
        tuple(_spark_plain(value) for value in row)
        for row in spark.sql(render(query, "spark")).collect()
    ]
    return duckdb_rows, spark_rows


def assert_both(spark, query: str, expected: list[tuple], **tables) -> None:
    duckdb_rows, spark_rows = run_both(spark, query, **tables)
    assert duckdb_rows == expected, f"DuckDB answers differently:\n{query}"
    assert spark_rows == expected, f"Spark answers differently:\n{render(query, 'spark')}"


# --- (a) every rule renders in both dialects -----------------------------------------------------


def test_the_rules_modules_export_rules():
    assert {"content.category_sql", "content.invalid_contract_sql", "text.trimmed_sql"} <= set(
        RULES
    )


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_renders(rule: str, dialect: str):
    """Fails on any function or construct render() cannot keep the meaning of in Spark."""
    sql = _rule_sql(rule)
    rendered = render(sql, dialect)
    if dialect == "duckdb":
        assert rendered == sql
    else:
        sqlglot.parse_one(rendered, read="spark")
        assert "${" not in rendered


# --- (b) every rule answers the same, and as the contract says, on both engines ------------------


@dataclass(frozen=True)
class Case:
    columns: dict[str, str]
    rows: list[tuple]  # one value per column
    expected: list  # the rule's value on each row


TEXT = {"value": "string"}
TOTALS = dict.fromkeys(
    TOTAL_COLUMNS, "bigint"
)  # Giai Tri, Phim Truyen, The Thao, Thieu Nhi, Truyen Hinh
TOTALS_ROWS = [
    (0, 0, 0, 0, 0),
    (0, 5, 0, 0, 0),
    (10, 10, 10, 10, 10),
    (7, 0, 7, 0, 0),
    (3, 0, 0, 9, 9),
    (1, 2, 3, 4, 0),
    (9, 0, 0, 0, 0),
    (0, 8, 0, 8, 0),
    (0, 0, 0, 0, 254),
    (5, 0, 6, 0, 6),
    (0, 0, 4, 4, 0),
]
LONGEST = MAX_CONTRACT_LENGTH

CASES = {
    # The default engagement weights; a type without one (or NULL) scores 0.
    "web.weighted_sql": Case(
        TEXT,
        [("view",), ("scroll",), ("click",), ("like",), ("comment",), ("hover",), (None,)],
        [1.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0],
    ),
    # Active days at the level edges (Low 1-9, Medium 10-20, High 21+); 0 and NULL have none.
    "analytics.activity_level_sql": Case(
        {"value": "bigint"},
        [(1,), (9,), (10,), (20,), (21,), (31,), (0,), (None,)],
        ["Low", "Low", "Medium", "Medium", "High", "High", None, None],
    ),
    # AppName, trimmed (Unicode white space) and upper-cased, in the map; NULL otherwise.
    "content.category_sql": Case(
        TEXT,
        [
            (" kplus ",),
            ("VOD",),
            ("relax\t",),
            ("unknown",),
            (None,),
            ("\u00a0Sport\u3000",),
            ("child\n",),  # Java's `$` would stop before the final \n
            ("Fims_Res",),
            ("DSHD ",),
            ("k plus",),
            ("",),
            ("ch\u0131ld",),  # a dotless i upper-cases to I on both engines
            ("\ufb01ms",),  # DuckDB keeps the ligature fi (no match); Spark alone says FIMS
            ("\ufb01ms_res",),
        ],
        [
            "Truyen Hinh",
            "Phim Truyen",
            "Giai Tri",
            None,
            None,
            "The Thao",
            "Thieu Nhi",
            "Phim Truyen",
            "Truyen Hinh",
            None,
            None,
            "Thieu Nhi",
            None,
            None,
        ],
    ),
    # A trimmed Contract that is null, empty, 0 or NULL in any case.
    "content.invalid_contract_sql": Case(
        TEXT,
        [
            (None,),
            ("",),
            ("0",),
            ("null",),
            ("NuLL",),
            ("HNH1",),
            ("00",),
            ("nul",),
            ("NULLX",),
            ("\u0149ull",),  # 'n preceded by apostrophe' upper-cases to two characters in Spark
        ],
        [True, True, True, True, True, False, False, False, False, False],
    ),
    # More than MAX_CONTRACT_LENGTH characters, counted in code points.
    "content.contract_too_long_sql": Case(
        TEXT,
        [
            ("a" * LONGEST,),
            ("a" * (LONGEST + 1),),
            ("🙂" * LONGEST,),
            ("🙂" * (LONGEST + 1),),
            ("é" * (LONGEST + 1),),
            ("",),
            (None,),
        ],
        [False, True, False, True, True, False, None],
    ),
    # Largest total; ties to Truyen Hinh, Phim Truyen, The Thao, Thieu Nhi, Giai Tri; NULL if all 0.
    "viewing.most_watch_sql": Case(
        TOTALS,
        TOTALS_ROWS,
        [
            None,
            "Phim Truyen",
            "Truyen Hinh",
            "The Thao",
            "Truyen Hinh",
            "Thieu Nhi",
            "Giai Tri",
            "Phim Truyen",
            "Truyen Hinh",
            "Truyen Hinh",
            "The Thao",
        ],
    ),
    # Categories with a total > 0, joined by '-' in alphabetical order; NULL when none.
    "viewing.taste_sql": Case(
        TOTALS,
        TOTALS_ROWS,
        [
            None,
            "Phim Truyen",
            "Giai Tri-Phim Truyen-The Thao-Thieu Nhi-Truyen Hinh",
            "Giai Tri-The Thao",
            "Giai Tri-Thieu Nhi-Truyen Hinh",
            "Giai Tri-Phim Truyen-The Thao-Thieu Nhi",
            "Giai Tri",
            "Phim Truyen-Thieu Nhi",
            "Truyen Hinh",
            "Giai Tri-The Thao-Truyen Hinh",
            "The Thao-Thieu Nhi",
        ],
    ),
    # Seconds from TotalDuration's JSON kind and text: an integer or a string of digits (once
    # trimmed) that fits a BIGINT; NULL for anything else.
    "content.duration_sql": Case(
        {"value": "string", "other": "string"},
        [
            ("integer", "254"),
            ("string", " 254 "),
            ("string", "\u00a0007\u3000"),
            ("integer", "-5"),
            ("string", "12.5"),
            ("string", "2 54"),
            ("string", ""),
            (None, "254"),
            ("boolean", "1"),
            ("integer", "9223372036854775807"),
            ("integer", "9223372036854775808"),
            ("string", "1e3"),
            ("string", "0x1F"),
            ("string", "1_000"),
            ("string", None),
        ],
        [254, 254, 7, None, None, None, None, None, None, 9223372036854775807, *[None] * 5],
    ),
    # A trimmed `YYYY-MM-DD HH:MM:SS[.ffffff]` (or with a T) that is a real time; NULL otherwise.
    "search.datetime_sql": Case(
        TEXT,
        [
            ("2022-06-01 10:20:30",),
            (" 2022-06-01T10:20:30.5 ",),
            ("2022-06-01 10:20:30.123456",),
            ("2022-02-30 10:00:00",),
            ("2022-06-01 24:00:00",),
            ("2022-06-01",),
            ("2022-06-01 10:20:30+07",),
            ("2022-06-01 10:20:30.1234567",),
            ("infinity",),
            (None,),
        ],
        [
            datetime(2022, 6, 1, 10, 20, 30),
            datetime(2022, 6, 1, 10, 20, 30, 500000),
            datetime(2022, 6, 1, 10, 20, 30, 123456),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    # A trimmed user_id that is null, empty or NULL in any case.
    "search.invalid_user_id_sql": Case(
        TEXT,
        [(None,), ("",), ("NULL",), ("nUlL",), ("0",), ("u1",), ("NULLS",)],
        [True, True, True, True, False, False, False],
    ),
    # Unicode White_Space stripped from both ends, nothing else.
    "text.trimmed_sql": Case(
        TEXT,
        [
            ("\tHNH2\u3000",),
            ("  a b  ",),
            (None,),
            ("",),
            ("\u00a0\u2028x\u0085",),
            ("x\n",),
            ("x\n\n",),
            ("\r\n",),
            ("a\u200bb",),  # a zero-width space is not white space
            (" \u200b ",),
            ("a\u00a0b",),
            ("🙂 ",),
        ],
        ["HNH2", "a b", None, "", "x", "x", "x", "", "a\u200bb", "\u200b", "a\u00a0b", "🙂"],
    ),
}


def test_every_rule_has_hand_made_rows():
    missing = sorted(set(RULES) - set(CASES))
    assert not missing, f"add hand-made rows and expected values for {missing} to CASES"


@pytest.mark.parametrize("rule", sorted(set(RULES) & set(CASES)))
def test_every_rule_answers_the_same_on_both_engines(spark, rule: str):
    case = CASES[rule]
    assert len(case.rows) == len(case.expected)
    columns = {"row_id": "bigint", **case.columns}
    rows = [(i, *row) for i, row in enumerate(case.rows)]
    query = f"SELECT row_id, {_rule_sql(rule)} AS v FROM cases ORDER BY row_id"
    expected = list(enumerate(case.expected))
    assert_both(spark, query, expected, cases=(columns, rows))


def test_a_composed_rule_answers_the_same(spark):
    """As the engine uses them: the validity of a Contract once trimmed."""
    from customer_analytics.defs.content.rules import invalid_contract_sql

    query = f"SELECT row_id, {invalid_contract_sql(trimmed_sql('value'))} FROM cases ORDER BY 1"
    values = [" 0 ", "\tnull\u3000", "HNH1 ", "\u00a0", None]
    expected = [(0, True), (1, True), (2, False), (3, True), (4, True)]
    rows = list(enumerate(values))
    assert_both(spark, query, expected, cases=({"row_id": "bigint", **TEXT}, rows))


def test_a_quarantine_reason_case_answers_the_same(spark):
    """A CASE naming the first failing reason, in QUARANTINE_REASONS order, as engines build it."""
    from customer_analytics.defs.content.rules import (
        QUARANTINE_REASONS,
        category_sql,
        contract_too_long_sql,
        invalid_contract_sql,
    )

    contract = trimmed_sql("Contract")
    conditions = {
        "invalid_contract": invalid_contract_sql(contract),
        "contract_too_long": contract_too_long_sql(contract),
        "unknown_app": f"{category_sql('AppName')} IS NULL",
    }
    branches = " ".join(
        f"WHEN {conditions[reason]} THEN '{reason}'"
        for reason in QUARANTINE_REASONS
        if reason in conditions
    )
    query = f"SELECT id, CASE {branches} END FROM records ORDER BY id"
    columns = {"id": "bigint", "Contract": "string", "AppName": "string"}
    rows = [
        (1, " HNH1 ", "kplus"),
        (2, " 0 ", "kplus"),
        (3, "a" * (LONGEST + 1), "VOD"),
        (4, "HNH2", "\ufb01ms"),
        (5, None, "nope"),  # the first failing reason only
        (6, "HNH3", "\u3000child"),
        (7, "\tnull", None),
    ]
    expected = [
        (1, None),
        (2, "invalid_contract"),
        (3, "contract_too_long"),
        (4, "unknown_app"),
        (5, "invalid_contract"),
        (6, None),
        (7, "invalid_contract"),
    ]
    assert_both(spark, query, expected, records=(columns, rows))


# --- whole queries -------------------------------------------------------------------------------

DAILY = {"date": "date", "Contract": "string", **TOTALS}
DAILY_ROWS = [
    (date(2024, 3, 1), "A", 0, 100, 0, 0, 50),
    (date(2024, 3, 2), "A", 0, 0, 0, 0, 200),
    (date(2024, 3, 31), "A", 10, 0, 0, 0, 0),
    (date(2024, 4, 1), "A", 0, 0, 0, 0, 0),
    (date(2024, 3, 15), "B", 0, 0, 30, 30, 0),
]


def test_a_monthly_query_answers_the_same(spark):
    """WITH, date_trunc cast to DATE, sum, count(DISTINCT), FILTER, a window, DATE and ::INT."""
    from customer_analytics.rules.viewing import most_watch_sql, taste_sql

    sums = ", ".join(f"CAST(sum({column}) AS BIGINT) AS {column}" for column in TOTAL_COLUMNS)
    query = f"""
        WITH monthly AS (
            SELECT CAST(date_trunc('month', date) AS DATE) AS month, Contract, {sums},
                   count(DISTINCT date) AS Active,
                   count(*) FILTER (WHERE Total_Truyen_Hinh > 0) AS days_with_tv
            FROM daily GROUP BY 1, 2
        )
        SELECT month, Contract, Active, days_with_tv,
               {most_watch_sql()} AS MostWatch, {taste_sql()} AS Taste,
               row_number() OVER (
                   PARTITION BY month ORDER BY Total_Truyen_Hinh DESC, Contract) AS tv_rank,
               month = DATE '2024-03-01' AS is_march,
               '7'::INT + Active AS seven_plus
        FROM monthly ORDER BY month, Contract
    """
    march, april = date(2024, 3, 1), date(2024, 4, 1)
    expected = [
        (march, "A", 3, 2, "Truyen Hinh", "Giai Tri-Phim Truyen-Truyen Hinh", 1, True, 10),
        (march, "B", 1, 0, "The Thao", "The Thao-Thieu Nhi", 2, True, 8),
        (april, "A", 1, 0, None, None, 1, False, 8),
    ]
    assert_both(spark, query, expected, daily=(DAILY, DAILY_ROWS))


def test_a_parsing_query_answers_the_same(spark):
    """regexp_replace (first and every match), regexp_full_match, regexp_matches, a guarded
    TRY_CAST, greatest, concat_ws and nullif, over text with awkward white space."""
    trimmed = trimmed_sql("duration")
    query = f"""
        SELECT id,
               TRY_CAST(CASE WHEN regexp_full_match({trimmed}, '[0-9]+') THEN {trimmed} END
                        AS BIGINT) AS seconds,
               regexp_matches(note, 'b$') AS ends_with_b,
               regexp_replace(note, '[0-9]', '#') AS first_digit_masked,
               regexp_replace(note, '[0-9]', '#', 'g') AS digits_masked,
               nullif(concat_ws('-', note, NULL), '') AS joined,
               greatest(length(note), 3) AS at_least_3
        FROM raw ORDER BY id
    """
    columns = {"id": "bigint", "duration": "string", "note": "string"}
    rows = [
        (1, " 254 ", "a1b2"),
        (2, "2.5", "ab\n"),  # DuckDB alone would read '2.5' as 3
        (3, "1e3", ""),
        (4, None, None),
        (5, "\u00a000012\t", "12"),
        (6, "0x1F", "xab"),
    ]
    expected = [
        (1, 254, False, "a#b2", "a#b#", "a1b2", 4),
        (2, None, False, "ab\n", "ab\n", "ab\n", 3),
        (3, None, False, "", "", None, 3),
        (4, None, None, None, None, None, 3),
        (5, 12, False, "#2", "##", "12", 3),
        (6, None, True, "xab", "xab", "xab", 3),
    ]
    assert_both(spark, query, expected, raw=(columns, rows))


# --- the functions render() lets through, each on literal cases ----------------------------------

# DuckDB SQL and its value, worked out by hand; keyed by the SAME_IN_BOTH class or the
# ANONYMOUS_SAME_IN_BOTH name it vouches for, or by the rewritten construct.
VALUES_3 = "(VALUES (1), (NULL), (2)) t(x)"
EXAMPLES: dict[str, list[tuple[str, object]]] = {
    "Case": [
        ("CASE WHEN CAST(NULL AS BOOLEAN) THEN 'a' WHEN 2 > 1 THEN 'b' END", "b"),
        ("CASE WHEN 1 > 2 THEN 1 END", None),
    ],
    "If": [("if(NULL, 1, 2)", 2), ("if(1 < 2, 'y', 'n')", "y")],
    "Coalesce": [("coalesce(NULL, 'a', 'b')", "a"), ("ifnull(NULL, 3)", 3)],
    "Nullif": [("nullif('', '')", None), ("nullif('a', '')", "a")],
    "Greatest": [
        ("greatest(1, NULL, 3)", 3),
        ("greatest('é', 'z')", "é"),
        ("greatest(CAST(NULL AS INTEGER), NULL)", None),
    ],
    "Least": [("least(1, NULL, 3)", 1), ("least('é', 'z')", "z")],
    "ConcatWs": [("concat_ws('-', 'a', NULL, 'b')", "a-b"), ("concat_ws('-', NULL, NULL)", "")],
    "Concat": [("concat('a', NULL, 'b')", "ab")],
    "Length": [("length('ﬁ🙂')", 2), ("len('')", 0), ("length(CAST(NULL AS VARCHAR))", None)],
    "Trim": [
        ("trim('  a  ')", "a"),
        ("trim('\ta\t')", "\ta\t"),
        ("ltrim('xxaxx', 'x')", "axx"),
        ("rtrim('  a  ')", "  a"),
        ("trim('\u3000a\u3000', '\u3000')", "a"),
    ],
    "Translate": [("translate('abc', 'ab', 'x')", "xc")],
    "Replace": [("replace('aaa', 'aa', 'b')", "ba"), ("replace('abc', '', '-')", "abc")],
    "Contains": [("contains('abc', 'b')", True), ("contains('abc', '')", True)],
    "StartsWith": [("starts_with('abc', 'ab')", True), ("starts_with('abc', 'b')", False)],
    "EndsWith": [("ends_with('abc', 'bc')", True)],
    "Abs": [("abs(-3)", 3), ("abs(-2.5)", Decimal("2.5"))],
    "Round": [
        ("round(2.5)", 3),
        ("round(-2.5)", -3),
        ("round(CAST(2.5 AS DOUBLE))", 3.0),
        ("round(CAST(-0.5 AS DOUBLE), 0)", -1.0),
    ],
    "Count": [
        (f"(SELECT count(x) FROM {VALUES_3})", 2),
        (f"(SELECT count(*) FROM {VALUES_3})", 3),
        ("(SELECT count(DISTINCT x) FROM (VALUES (1), (NULL), (1)) t(x))", 1),
        (f"(SELECT count(*) FILTER (WHERE x > 1) FROM {VALUES_3})", 1),
    ],
    "Sum": [(f"(SELECT sum(x) FROM {VALUES_3})", 3)],
    "Min": [("(SELECT min(x) FROM (VALUES ('é'), ('z'), (NULL)) t(x))", "z")],
    "Max": [("(SELECT max(x) FROM (VALUES ('é'), ('z'), (NULL)) t(x))", "é")],
    "Avg": [(f"(SELECT avg(x) FROM {VALUES_3})", 1.5)],
    "StddevSamp": [
        ("(SELECT stddev_samp(x) FROM (VALUES (1), (NULL), (3), (5)) t(x))", 2.0),
        ("(SELECT stddev_samp(x) FROM (VALUES (7), (NULL)) t(x))", None),
    ],
    "CovarSamp": [
        ("(SELECT covar_samp(x, y) FROM (VALUES (1, 2), (3, 6), (5, 10), (9, NULL)) t(x, y))", 8.0),
        ("(SELECT covar_samp(x, y) FROM (VALUES (1, 2), (NULL, 3)) t(x, y))", None),
    ],
    "StddevPop": [
        ("(SELECT stddev_pop(x) FROM (VALUES (1), (NULL), (3)) t(x))", 1.0),
        ("(SELECT stddev_pop(x) FROM (VALUES (7), (NULL)) t(x))", 0.0),
    ],
    "Ln": [("ln(1)", 0.0), ("ln(CAST(1 AS DOUBLE))", 0.0)],
    "RowNumber": [
        (
            "(SELECT sum(r) FROM (SELECT row_number() OVER (ORDER BY x) AS r FROM (VALUES (1), (1), (2)) t(x)) s)",
            6,
        )
    ],
    "Rank": [
        (
            "(SELECT sum(r) FROM (SELECT rank() OVER (ORDER BY x) AS r FROM (VALUES (1), (1), (2)) t(x)) s)",
            5,
        )
    ],
    "DenseRank": [
        (
            "(SELECT sum(r) FROM (SELECT dense_rank() OVER (ORDER BY x) AS r FROM (VALUES (1), (1), (2)) t(x)) s)",
            4,
        )
    ],
    "Struct": [("struct_pack(a := 1, b := 'x')", {"a": 1, "b": "x"}), ("{'a': NULL}", {"a": None})],
    "Array": [("[1, NULL, 3]", [1, None, 3]), ("list_value('a')", ["a"])],
    "Map": [("map_values(MAP(['a', 'b'], [1, 2]))", [1, 2])],
    "Exists": [("EXISTS (SELECT 1)", True)],
    "And": [("NULL AND FALSE", False), ("NULL AND TRUE", None)],
    "Or": [("NULL OR TRUE", True), ("NULL OR FALSE", None)],
    "bin": [("bin(5)", "101"), ("bin(-1)", "1" * 64)],
    "map_values": [("map_values(MAP(['a', 'b'], [1, NULL]))", [1, None])],
    "map_entries": [("map_entries(MAP(['a'], [1]))", [{"key": "a", "value": 1}])],
    # The rewritten constructs.
    "regexp_replace": [
        ("regexp_replace('aXbXc', 'X', '-')", "a-bXc"),
        ("regexp_replace('a\nbXcX', 'X', '-')", "a\nb-cX"),
        ("regexp_replace('aXbXc', 'X', '-', 'g')", "a-b-c"),
        ("regexp_replace('a1b22c', '([0-9]+)', '<\\1>')", "a<1>b22c"),
        ("regexp_replace('a1b22c', '[0-9]+', '<\\0>', 'g')", "a<1>b<22>c"),
        ("regexp_replace('ab\n', 'b$', '')", "ab\n"),
        ("regexp_replace('a\rb', 'a.b', 'x')", "x"),
        ("regexp_replace('abc', 'x*', '-')", "-abc"),
        ("regexp_replace('🙂b🙂', '.', 'X')", "Xb🙂"),
        ("regexp_replace('a$b', '[$]', '\\\\')", "a\\b"),
        ("regexp_replace('price', 'p', '$1')", "$1rice"),
        ("regexp_replace('a  b  ', ' +$', '')", "a  b"),
        ("regexp_replace('a\x0bb', '\\s', '_', 'g')", "a\x0bb"),
    ],
    "regexp_matches": [
        ("regexp_matches('ab\n', 'b$')", False),
        ("regexp_matches('a\rb', 'a.b')", True),
        ("regexp_matches('\x0b', '\\s')", False),
        ("regexp_matches('é', '\\w')", False),
        ("regexp_matches('é', '\\p{Ll}')", True),
    ],
    "regexp_full_match": [
        ("regexp_full_match('123', '[0-9]+')", True),
        ("regexp_full_match('123\n', '[0-9]+')", False),
        ("regexp_full_match('ab', 'a|ab')", True),
        ("'abc' SIMILAR TO 'a.*'", True),
        ("'abc' NOT SIMILAR TO 'b'", True),
    ],
    "upper": [
        ("upper('kplus') = 'KPLUS'", True),
        ("upper('\ufb01ms') = 'FIMS'", False),
        ("upper('ch\u0131ld') IN ('CHILD')", True),
        ("upper('straße') <> 'STRASSE'", True),
        ("upper('straße') IS DISTINCT FROM 'STRASSE'", True),
        ("CASE upper('vod') WHEN 'VOD' THEN 1 END", 1),
        ("upper(NULL) = 'A'", None),
    ],
    "lower": [
        ("lower('CH\u0130LD')", "child"),  # not i + U+0307 as Spark alone gives
        ("lower('\u039f\u0394\u039f\u03a3')", "\u03bf\u03b4\u03bf\u03c3"),  # no final sigma
        ("lower('\u00c0B')", "\u00e0b"),
    ],
    "LIKE": [
        ("'a\\b' LIKE 'a\\b'", True),
        ("'a_' LIKE 'a\\_'", False),
        ("'a\\x' LIKE 'a\\_'", True),
        ("'abc' NOT LIKE 'a%'", False),
        ("'a!_' LIKE 'a!!!_' ESCAPE '!'", True),
    ],
    "ILIKE": [
        ("'ABC' ILIKE 'a%'", True),
        ("'CH\u0130LD' ILIKE 'child'", True),
        ("'x' NOT ILIKE 'X'", False),
    ],
    "division": [("5 / 2", 2.5), ("1.0 / 3.0", 1 / 3), ("7 / NULLIF(0, 0)", None)],
    "modulo": [("-5 % 3", -2), ("5 % NULLIF(0, 0)", None)],
    "list index": [
        ("[1, 2, 3][1]", 1),
        ("[1, 2, 3][-1]", 3),
        ("[1, 2, 3][5]", None),
        ("{'a': 1}['a']", 1),
        ("(SELECT [10, 20][i] FROM (VALUES (2)) t(i))", 20),
        ("(SELECT [10, 20][i] FROM (VALUES (0)) t(i))", None),
    ],
    "string_split": [
        ("string_split('a,,b,', ',')", ["a", "", "b", ""]),
        ("string_split('a.b|c', '.')", ["a", "b|c"]),
    ],
    "substring": [
        ("substring('hello', 2, 3)", "ell"),
        ("substring('hello', -3, 2)", "ll"),
        ("substring('hello', 2)", "ello"),
    ],
    "date_trunc": [
        ("date_trunc('day', DATE '2024-03-15')", date(2024, 3, 15)),
        ("date_trunc('month', DATE '2024-03-15')", date(2024, 3, 1)),
        ("date_trunc('week', DATE '2024-03-15')", date(2024, 3, 11)),
        ("date_trunc('hour', TIMESTAMP '2024-03-15 10:11:12')", datetime(2024, 3, 15, 10)),
        ("CAST(date_trunc('quarter', TIMESTAMP '2024-03-15 10:11:12') AS DATE)", date(2024, 1, 1)),
    ],
    "CAST": [
        ("CAST(2.5 AS INTEGER)", 3),
        ("CAST(-2.5 AS INTEGER)", -3),
        ("CAST(CAST(2.5 AS DOUBLE) AS INTEGER)", 2),
        ("CAST(CAST(3.5 AS DOUBLE) AS INTEGER)", 4),
        ("CAST(round(CAST(2.5 AS DOUBLE)) AS BIGINT)", 3),
        ("'12'::INT", 12),
        ("CAST(DATE '2024-03-05' AS VARCHAR)", "2024-03-05"),
        ("CAST(2.50 AS VARCHAR)", "2.50"),
        ("CAST(TIMESTAMP '2024-03-05 10:11:12' AS DATE)", date(2024, 3, 5)),
        ("CAST(1 AS DECIMAL(10, 2))", Decimal("1.00")),
    ],
    "TRY_CAST": [
        ("TRY_CAST(CASE WHEN regexp_full_match('0012', '[0-9]+') THEN '0012' END AS BIGINT)", 12),
        ("TRY_CAST(CASE WHEN regexp_full_match('2.5', '[0-9]+') THEN '2.5' END AS BIGINT)", None),
        ("TRY_CAST('99999999999999999999' AS BIGINT)", None),
    ],
    "string literal": [("'${x}'", "${x}"), ("'a$' || '{b}'", "a${b}")],
}


def test_every_function_let_through_has_examples():
    vetted = {cls.__name__ for cls in SAME_IN_BOTH} | set(ANONYMOUS_SAME_IN_BOTH)
    missing = sorted(vetted - set(EXAMPLES))
    assert not missing, f"add literal cases for {missing} to EXAMPLES"


@pytest.mark.parametrize("label", sorted(EXAMPLES))
def test_what_render_lets_through_answers_the_same(spark, label: str):
    examples = EXAMPLES[label]
    query = "SELECT " + ", ".join(f"{sql} AS v{i}" for i, (sql, _) in enumerate(examples))
    expected = [tuple(value for _, value in examples)]
    assert_both(spark, query, expected)


# --- (c) what render() refuses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("my_udf(x)", "my_udf()"),
        ("my_udf(a) + other_udf(b)", "other_udf()"),
        ("to_json(struct_pack(a := x))", "to_json()"),
        ("regexp_matches(x, 'a', 'i')", "options"),
        ("regexp_replace(x, ' *', '', 'g')", "empty string"),
        ("regexp_matches(x, '\\bword')", "\\b"),
        ("regexp_matches(x, '[[:alpha:]]')", "POSIX"),
        ("regexp_matches(x, '(?i)a')", "flags"),
        ("regexp_matches(x, pattern)", "literal"),
        ("date_trunc('month', d)", "date_trunc()"),
        ("upper(x)", "upper()"),
        ("a / b", "/ by b"),
        ("a % b", "% by b"),
        ("a // 2", "//"),
        ("x COLLATE nocase", "collations"),
        ("TRY_CAST(trim(x) AS BIGINT)", "text"),
        ("CAST('2024-01' AS DATE)", "text"),
        ("CAST(x AS HUGEINT)", "HUGEINT"),
        ("CAST(x AS TIMESTAMPTZ)", "TIMESTAMP"),
        ("x ~ 'a'", "`~`"),
        ("CAST(CAST(x AS DOUBLE) AS VARCHAR)", "1e+20"),
        ("d + INTERVAL 1 DAY", "INTERVAL"),
        ("DATE '2024-01-02' - DATE '2024-01-01'", "DATE - DATE"),
        ("list(x)", "collect_list"),
        ("list_contains(l, 1)", "array_contains"),
        ("l[1:2]", "index"),
        ("string_split(x, '')", "separator"),
        ("substring(x, 0, 2)", "start"),
        ("substring(x, 2, n)", "length"),
        ("x LIKE y", "pattern"),
        ("E'\\t'", "E'...'"),
        ("json_type(x)", "json_type()"),
        ("x->>'$.a'", "JSON"),
        ("try(x::INT)", "try()"),
        ("MAP {'a': 1}", "MAP"),
        ("round(x, 2)", "round(x, n)"),
        ("corr(a, b)", "covar_samp"),
        ("date_diff('day', a, b)", "date_diff()"),
    ],
)
def test_render_refuses_what_would_change_meaning(sql: str, named: str):
    with pytest.raises(ValueError, match="Cannot render for Spark") as refusal:
        render(sql, "spark")
    assert named in str(refusal.value)


def test_render_names_every_unknown_function_at_once():
    with pytest.raises(ValueError) as refusal:
        render("SELECT my_udf(a), other_udf(b) FROM t", "spark")
    assert "my_udf()" in str(refusal.value) and "other_udf()" in str(refusal.value)


def test_render_refuses_an_unknown_dialect_and_statements():
    with pytest.raises(ValueError, match="Unknown SQL dialect 'postgres'"):
        render("1", "postgres")
    with pytest.raises(ValueError, match="Only queries and expressions"):
        render("CREATE TABLE t (a INT)", "spark")
    with pytest.raises(ValueError, match="one query or expression"):
        render("SELECT 1; SELECT 2", "spark")


def test_render_is_memoized():
    sql = "CASE WHEN x > 0 THEN 'memo' END"
    render(sql, "spark")
    hits = render.cache_info().hits
    assert render(sql, "spark") == render(sql, "spark")
    assert render.cache_info().hits == hits + 2
