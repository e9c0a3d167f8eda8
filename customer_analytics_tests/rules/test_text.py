"""White space and trimming (docs/contract.md §3, "Trimming"): one definition for every rule.

White space is the Unicode White_Space property, listed below code point by code point.
"""

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from customer_analytics.rules.text import WHITE_SPACE, WHITE_SPACE_CLASS, trimmed_sql

WHITE_SPACE_CODE_POINTS = [
    0x0009, 0x000A, 0x000B, 0x000C, 0x000D, 0x0020, 0x0085, 0x00A0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
]  # fmt: skip


def test_white_space_is_the_unicode_white_space_property():
    assert [ord(char) for char in WHITE_SPACE] == WHITE_SPACE_CODE_POINTS


def test_python_isspace_differs_only_by_the_four_information_separators():
    isspace = {chr(code) for code in range(0x110000) if chr(code).isspace()}
    assert isspace - set(WHITE_SPACE) == {"\x1c", "\x1d", "\x1e", "\x1f"}
    assert set(WHITE_SPACE) - isspace == set()


def test_the_class_matches_exactly_the_white_space():
    everything = pa.array([chr(code) for code in range(1, 0x110000) if not 0xD800 <= code < 0xE000])
    matched = pc.filter(everything, pc.match_substring_regex(everything, f"^{WHITE_SPACE_CLASS}$"))
    assert [ord(char) for char in matched.to_pylist()] == WHITE_SPACE_CODE_POINTS


def _trimmed(value: str | None) -> str | None:
    return duckdb.execute(f"SELECT {trimmed_sql('$1')}", [value]).fetchone()[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("\tHNH2\t", "HNH2", id="tabs"),
        pytest.param("  HNH2  ", "HNH2", id="spaces"),
        pytest.param("\r\n\v\fHNH2\x85", "HNH2", id="ascii-controls-and-next-line"),
        pytest.param("\u00a0\u1680HNH2\u2000\u200a", "HNH2", id="no-break-ogham-en-quad-hair"),
        pytest.param("\u2028\u2029HNH2\u202f\u205f\u3000", "HNH2", id="separators-narrow-math-ideographic"),
        pytest.param("H N\tH\u3000\u00a02", "H N\tH\u3000\u00a02", id="inner-white-space-kept"),
        pytest.param("\u200bHNH2\ufeff", "\u200bHNH2\ufeff", id="zero-width-kept"),
        pytest.param("\x1fHNH2\x1c", "\x1fHNH2\x1c", id="information-separators-kept"),
        pytest.param("\u00e0\u0085", "\u00e0", id="two-byte-neighbour-of-next-line"),
        pytest.param("\u3000\u3001", "\u3001", id="ideographic-comma-kept"),
        pytest.param("\t", "", id="only-tab"),
        pytest.param("\u3000", "", id="only-ideographic-space"),
        pytest.param(WHITE_SPACE, "", id="all-white-space"),
        pytest.param("", "", id="empty"),
        pytest.param(None, None, id="null"),
    ],
)  # fmt: skip
def test_trimmed_sql(value, expected):
    assert _trimmed(value) == expected
