"""How viewers type a title: with or without diacritics, in any case, NFD from some keyboards."""

from __future__ import annotations

import math
import unicodedata

# Spelling style -> share of searches typed that way.
STYLES: dict[str, float] = {
    "lower": 0.30,  # hạ cánh nơi anh
    "plain": 0.28,  # ha canh noi anh: no diacritics, the quickest way to type on a remote
    "as_is": 0.10,  # Hạ cánh nơi anh
    "nfd": 0.07,  # the same letters decomposed (NFD), as some keyboards send them
    "spaced": 0.06,  # " ha canh  noi anh  "
    "prefix": 0.06,  # hạ cánh: stopped typing once the suggestion showed up
    "title": 0.05,  # Hạ Cánh Nơi Anh
    "upper_plain": 0.05,  # HA CANH NOI ANH
    "run_on": 0.03,  # HACANHNOIANH
}


def strip_diacritics(text: str) -> str:
    # đ is a letter of its own, not d with a combining mark, so NFD leaves it alone.
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def spell(text: str, style: str, salt: int) -> str:
    """`text` typed in `style`; the non-negative `salt` picks the details, e.g. where spaces go."""
    # Half of the styles come with or without diacritics.
    casual = text.lower() if salt % 2 else strip_diacritics(text).lower()
    match style:
        case "lower":
            return text.lower()
        case "plain":
            return strip_diacritics(text).lower()
        case "as_is":
            return text
        case "nfd":
            return unicodedata.normalize("NFD", text.lower() if salt % 2 else text)
        case "spaced":
            return _spaced(casual, salt // 2)
        case "prefix":
            return _prefix(casual, salt // 2)
        case "title":
            return (text if salt % 2 else strip_diacritics(text)).title()
        case "upper_plain":
            return strip_diacritics(text).upper()
        case "run_on":
            return strip_diacritics(text).upper().replace(" ", "")
    raise ValueError(f"unknown spelling style {style!r}")


def _spaced(text: str, salt: int) -> str:
    words = text.split(" ")
    if len(words) > 1:
        gap = 1 + salt % (len(words) - 1)
        words = [" ".join(words[:gap]), " ".join(words[gap:])]
    return " " * (salt % 3) + "  ".join(words) + " " * (1 + salt // 3 % 2)


def _prefix(text: str, salt: int) -> str:
    words = text.split(" ")
    if len(words) < 3:
        return text
    shortest = math.ceil(len(words) / 2)
    return " ".join(words[: shortest + salt % (len(words) - shortest)])
