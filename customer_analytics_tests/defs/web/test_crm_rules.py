"""The rules of the CRM extract (`defs/web/rules.py`): its rows read from text, and which rows fail
which rule. Every expected value is worked out by hand."""

import pyarrow as pa

from customer_analytics.defs.web.rules import CRM_RULES, crm_rows, crm_rule_failures

TEXT_NAMES = ["customer_id", "contract", "loyalty_tier", "rating"]


def _extract(columns: dict[str, list]) -> pa.Table:
    """An extract as `LandingZone.read_crm` returns it: text columns, rows on lines 2, 3, ..."""
    rows = len(columns["rating"])
    return pa.table(
        {name: pa.array(columns[name], pa.string()) for name in TEXT_NAMES}
        | {"line": pa.array(range(2, rows + 2), pa.int64())}
    )


def test_crm_rows():
    extract = _extract(
        {
            "customer_id": [" c1 ", "c2", "", "c4"],
            "contract": ["HNH579912 ", None, "x", "  "],
            "loyalty_tier": [" Gold", "Silver", "Bronze", "Platinum"],
            "rating": [" 4 ", "x", "5", "4.5"],
        }
    )
    rows = crm_rows(extract)
    assert rows.schema == pa.schema(
        [
            ("customer_id", pa.string()),
            ("contract", pa.string()),
            ("loyalty_tier", pa.string()),
            ("rating", pa.int64()),
            ("line", pa.int64()),
        ]
    )
    assert rows.to_pylist() == [
        {
            "customer_id": "c1",
            "contract": "HNH579912",
            "loyalty_tier": "Gold",
            "rating": 4,
            "line": 2,
        },
        {
            "customer_id": "c2",
            "contract": None,
            "loyalty_tier": "Silver",
            "rating": None,
            "line": 3,
        },
        {"customer_id": None, "contract": "x", "loyalty_tier": "Bronze", "rating": 5, "line": 4},
        {
            "customer_id": "c4",
            "contract": None,
            "loyalty_tier": "Platinum",
            "rating": None,
            "line": 5,
        },
    ]


def test_crm_rating_that_is_not_a_whole_number_is_null():
    extract = _extract(
        {name: ["c"] * 4 for name in TEXT_NAMES[:3]} | {"rating": ["-1", "", None, " "]}
    )
    assert crm_rows(extract)["rating"].to_pylist() == [None, None, None, None]


# str.isdigit() accepts digits int() does not read (superscripts such as "²").
def test_crm_rating_in_superscript_is_null():
    extract = _extract({name: ["c"] for name in TEXT_NAMES[:3]} | {"rating": ["²"]})
    assert crm_rows(extract)["rating"].to_pylist() == [None]


# With no row, every column keeps its type: a column typed null broke the counts of the check
# (`count_distinct` has no kernel for null).
def test_crm_rows_of_no_row_keep_their_types_and_fail_no_rule():
    rows = crm_rows(_extract({name: [] for name in TEXT_NAMES}))
    assert [field.type for field in rows.schema] == [
        pa.string(),
        pa.string(),
        pa.string(),
        pa.int64(),
        pa.int64(),
    ]
    assert {rule: failing.to_pylist() for rule, failing in crm_rule_failures(rows).items()} == {
        rule: [] for rule in CRM_RULES
    }


def test_each_crm_rule_refuses_its_rows_and_only_those():
    # Line 2 is valid; each later line breaks one rule (line 4 repeats line 2's id; line 9 holds
    # 255 two-byte characters, which are 255 characters, not 510).
    extract = _extract(
        {
            "customer_id": ["u1", "", "u1", "u" * 256, "u5", "u6", "u7", "u8", "Đ" * 255],
            "contract": ["C1", "C2", "C3", "C4", " ", "c" * 256, "C7", "C8", "Đ" * 255],
            "loyalty_tier": [
                "Gold",
                "Gold",
                "Gold",
                "Gold",
                "Gold",
                "Gold",
                "gold",
                "Gold",
                "Gold",
            ],
            "rating": ["5", "5", "5", "5", "5", "5", "5", "6", "1"],
        }
    )
    failures = crm_rule_failures(crm_rows(extract))
    assert list(failures) == list(CRM_RULES)
    lines = {rule: extract["line"].filter(rows).to_pylist() for rule, rows in failures.items()}
    assert lines == {
        "missing_customer_id": [3],
        "customer_id_too_long": [5],
        "duplicate_customer_id": [4],
        "missing_contract": [6],
        "contract_too_long": [7],
        "invalid_loyalty_tier": [8],
        "invalid_rating": [9],
    }


def test_the_longest_values_are_the_warehouse_widths_and_a_missing_tier_is_invalid():
    extract = _extract(
        {
            "customer_id": ["i" * 255, "j" * 255, "k"],
            "contract": ["c" * 255, "d" * 255, "e"],
            "loyalty_tier": ["Bronze", "Platinum", None],
            "rating": ["1", " 2 ", None],
        }
    )
    failures = crm_rule_failures(crm_rows(extract))
    assert {rule: rows.to_pylist() for rule, rows in failures.items()} == {
        "missing_customer_id": [False, False, False],
        "customer_id_too_long": [False, False, False],
        "duplicate_customer_id": [False, False, False],
        "missing_contract": [False, False, False],
        "contract_too_long": [False, False, False],
        "invalid_loyalty_tier": [False, False, True],
        "invalid_rating": [False, False, True],
    }


def test_padding_does_not_count_towards_the_length():
    extract = _extract(
        {
            "customer_id": [" " + "i" * 255 + "\t"],
            "contract": ["\u3000" + "c" * 255],
            "loyalty_tier": ["Gold"],
            "rating": ["3"],
        }
    )
    failures = crm_rule_failures(crm_rows(extract))
    assert not any(rows.to_pylist()[0] for rows in failures.values())
