"""Keyword normalization of the search log (docs/contract.md §3, "Normalized keyword").

Normalized keyword = Unicode NFC, runs of Unicode white space collapsed to one space, trimmed,
lower-cased; NULL stays NULL. Every input and expected value below is a literal worked out by hand
(NFD forms are spelled out with escapes and checked against the standard library only).
"""

import unicodedata

import pyarrow as pa
import pytest

from customer_analytics.defs.search.rules import (
    QUARANTINE_REASONS,
    VOICE_SEARCH_PLACEHOLDER,
    normalize_keyword,
    normalize_keywords,
)

# "Phim Hàn Quốc" spelled both ways: à = a + U+0300, ố = o + U+0302 + U+0301.
PHIM_HAN_NFC = "Phim H\u00e0n Qu\u1ed1c"
PHIM_HAN_NFD = "Phim Ha\u0300n Quo\u0302\u0301c"

# The voice-search placeholder, decomposed: ì = i + U+0300, ế = e + U+0302 + U+0301,
# ằ = a + U+0306 + U+0300, ọ = o + U+0323, ó = o + U+0301.
VOICE_NFD = "Ti\u0300m kie\u0302\u0301m ba\u0306\u0300ng gio\u0323ng no\u0301i"


def test_fixture_spellings_are_what_they_claim():
    """Guards the hand-written escapes above, so the NFD tests really feed decomposed text."""
    assert PHIM_HAN_NFC != PHIM_HAN_NFD
    assert unicodedata.normalize("NFC", PHIM_HAN_NFD) == PHIM_HAN_NFC
    assert unicodedata.normalize("NFD", PHIM_HAN_NFC) == PHIM_HAN_NFD
    assert unicodedata.normalize("NFD", VOICE_SEARCH_PLACEHOLDER) == VOICE_NFD


def test_constants():
    assert VOICE_SEARCH_PLACEHOLDER == "Tìm kiếm bằng giọng nói"
    assert QUARANTINE_REASONS == (
        "invalid_user_id",
        "user_id_too_long",
        "not_search_action",
        "empty_keyword",
        "keyword_too_long",
        "voice_search",
        "invalid_datetime",
        "duplicate_event",
    )


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        pytest.param("TRUCTIEPBONGDAHOMNAY", "tructiepbongdahomnay", id="run-on-upper"),
        pytest.param("tructiepbongdahomnay", "tructiepbongdahomnay", id="already-normal"),
        pytest.param("Phim Hàn Quốc", "phim hàn quốc", id="vietnamese-title-case"),
        pytest.param("PHIM HÀN QUỐC", "phim hàn quốc", id="vietnamese-upper"),
        pytest.param("ĐÔ RÊ MON", "đô rê mon", id="d-stroke-upper"),
        pytest.param("Đá Bóng", "đá bóng", id="d-stroke-title"),
        pytest.param("TÌM KIẾM BẰNG GIỌNG NÓI", "tìm kiếm bằng giọng nói", id="voice-upper"),
        pytest.param("conan", "conan", id="lower-ascii"),
        pytest.param("Phim-Hàn_2022!", "phim-hàn_2022!", id="punctuation-kept"),
        pytest.param("a", "a", id="one-letter"),
    ],
)
def test_lower_cases(keyword, expected):
    assert normalize_keyword(keyword) == expected


@pytest.mark.parametrize(
    "keyword",
    [
        pytest.param(PHIM_HAN_NFC, id="nfc"),
        pytest.param(PHIM_HAN_NFD, id="nfd"),
        pytest.param("Phim Ha\u0300n Qu\u00f4\u0301c", id="partly-composed"),
        pytest.param("PHIM HA\u0300N QUO\u0302\u0301C", id="nfd-upper"),
        pytest.param("  Phim\u00a0Ha\u0300n\tQuo\u0302\u0301c \n", id="nfd-and-white-space"),
    ],
)
def test_nfc_and_nfd_forms_give_the_same_keyword(keyword):
    result = normalize_keyword(keyword)
    assert result == "phim h\u00e0n qu\u1ed1c"
    assert len(result) == 13  # composed: no combining marks left


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        pytest.param("\ufb01lm", "\ufb01lm", id="fi-ligature"),
        pytest.param("phim\u00b2", "phim\u00b2", id="superscript-two"),
        pytest.param("\uff50\uff48\uff49\uff4d", "\uff50\uff48\uff49\uff4d", id="full-width"),
    ],
)
def test_compatibility_characters_are_kept(keyword, expected):
    """NFC, not NFKC: compatibility forms are not folded to their plain letters."""
    assert normalize_keyword(keyword) == expected


def test_nfd_voice_placeholder_composes():
    assert normalize_keyword(VOICE_NFD) == "t\u00ecm ki\u1ebfm b\u1eb1ng gi\u1ecdng n\u00f3i"


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        pytest.param("  conan  ", "conan", id="ascii-spaces-trimmed"),
        pytest.param("phim   hàn", "phim hàn", id="inner-run-collapsed"),
        pytest.param("phim\thàn", "phim hàn", id="tab"),
        pytest.param("phim\t\thàn", "phim hàn", id="tabs"),
        pytest.param("phim\nhàn", "phim hàn", id="newline"),
        pytest.param("phim\r\nhàn", "phim hàn", id="crlf"),
        pytest.param("phim\fhàn", "phim hàn", id="form-feed"),
        pytest.param("phim\vhàn", "phim hàn", id="vertical-tab"),
        pytest.param("phim\u0085hàn", "phim hàn", id="next-line"),
        pytest.param("phim\u00a0hàn", "phim hàn", id="no-break-space"),
        pytest.param("phim \u00a0 hàn", "phim hàn", id="space-nbsp-space"),
        pytest.param("\u00a0phim hàn\u00a0", "phim hàn", id="nbsp-trimmed"),
        pytest.param("phim\u1680hàn", "phim hàn", id="ogham-space"),
        pytest.param("phim\u2003hàn", "phim hàn", id="em-space"),
        pytest.param("phim\u2009hàn", "phim hàn", id="thin-space"),
        pytest.param("phim\u202fhàn", "phim hàn", id="narrow-nbsp"),
        pytest.param("phim\u205fhàn", "phim hàn", id="math-space"),
        pytest.param("phim\u2028hàn", "phim hàn", id="line-separator"),
        pytest.param("phim\u2029hàn", "phim hàn", id="paragraph-separator"),
        pytest.param("phim\u3000hàn", "phim hàn", id="ideographic-space"),
        pytest.param("\t \u00a0\n phim \t\u3000 hàn \r\n\u2003", "phim hàn", id="mixed-runs"),
        pytest.param("phim\u2000\u200ahàn", "phim hàn", id="en-quad-hair-space"),
        pytest.param("\u2007phim\u2008hàn\u2006", "phim hàn", id="figure-punctuation-six-per-em"),
        pytest.param(" Running  Man ", "running man", id="two-words-upper"),
    ],
)
def test_white_space_runs_collapse_to_one_space_and_are_trimmed(keyword, expected):
    assert normalize_keyword(keyword) == expected


@pytest.mark.parametrize(
    "keyword",
    [
        pytest.param("", id="empty"),
        pytest.param(" ", id="space"),
        pytest.param("   ", id="spaces"),
        pytest.param("\t\n\r", id="ascii-controls"),
        pytest.param("\u00a0", id="nbsp"),
        pytest.param("\u3000 \u2003", id="wide-spaces"),
        pytest.param("\v", id="vertical-tab"),
    ],
)
def test_white_space_only_becomes_empty(keyword):
    assert normalize_keyword(keyword) == ""


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        pytest.param("phim\u200bhàn", "phim\u200bhàn", id="zero-width-space"),
        pytest.param("phim\u2060hàn", "phim\u2060hàn", id="word-joiner"),
        pytest.param("\ufeffphim", "\ufeffphim", id="zero-width-no-break-space"),
        pytest.param("phim\x1fhàn", "phim\x1fhàn", id="unit-separator"),
        pytest.param("phim\x1chàn", "phim\x1chàn", id="file-separator"),
    ],
)
def test_characters_outside_unicode_white_space_are_kept(keyword, expected):
    """Not White_Space, though Python's str.isspace counts U+001C-U+001F."""
    assert normalize_keyword(keyword) == expected


def test_array_keeps_nulls_and_positions():
    keywords = pa.array(["  Conan ", None, "", PHIM_HAN_NFD, None, "B\u00a0C"], pa.string())
    result = normalize_keywords(keywords)
    assert isinstance(result, pa.Array)
    assert result.type == pa.string()
    assert result.to_pylist() == ["conan", None, "", "phim hàn quốc", None, "b c"]


def test_all_null_array():
    result = normalize_keywords(pa.array([None, None], pa.string()))
    assert result.to_pylist() == [None, None]


def test_chunked_array_stays_chunked():
    keywords = pa.chunked_array([["TRUCTIEPBONGDAHOMNAY", None], [], ["Đá  Bóng"]], pa.string())
    result = normalize_keywords(keywords)
    assert isinstance(result, pa.ChunkedArray)
    assert result.to_pylist() == ["tructiepbongdahomnay", None, "đá bóng"]


def test_empty_array():
    assert normalize_keywords(pa.array([], pa.string())).to_pylist() == []


def test_already_normal_keywords_are_unchanged():
    once = ["phim hàn quốc", "tìm kiếm bằng giọng nói", "đá bóng", "a b"]
    assert normalize_keywords(pa.array(once, pa.string())).to_pylist() == once
