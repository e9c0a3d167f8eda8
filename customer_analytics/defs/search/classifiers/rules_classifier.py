"""The offline `rules` keyword classifier: the lexicon of `lexicon.py` plus a few heuristics.

A keyword (already normalized: NFC, trimmed, single spaces, lower-case) is split into tokens, runs
of letters and digits where a "+" is kept so "k+" and "k+1" stay channels. Tokens are compared on
their ASCII fold (combining marks dropped after NFD, đ → d), so "nha ba nu" finds "nhà bà nữ".
Whole tokens only: "ma" never fires inside "manchester".

Rules, in priority order; the first that fires decides:

1. Channel request: the keyword starts with "kênh" → TV Channel ("kênh hoạt hình").
2. Music marker (karaoke, remix, beat, nhạc, ost, lời bài hát...) → Music, whatever song the
   keyword names ("karaoke hậu duệ mặt trời"), unless the marker is part of a longer entry.
3. Match-up: "vs", "v" or "versus" with a word on each side → Sports ("man city vs liverpool"),
   unless a lexicon title spans it ("freddy vs jason" stays Horror).
4. Longest known phrase: every lexicon entry and channel code (vtv3, "htv 7") found in the
   keyword competes, the one with the most letters wins, because the longer phrase is the more
   specific: "trực tiếp bóng đá vtv6" is Sports, "thời sự vtv1" News, "hậu duệ mặt trời tập 5"
   K Drama. Equal lengths go to the entry typed exactly as written (with its diacritics), then to
   a lexicon entry over a channel code, then to the first category in TIE_BREAK. Entries match
   - token by token on the fold;
   - as one token on the space-less fold, for run-ons ("tructiepbongda"), where a doubled letter
     counts once since viewers drop one at the seam ("hauduematroi" for "hậu duệ mặt trời");
   - inside a longer run-on token when they have at least RUNON_MIN_LETTERS letters
     ("tructiepbongdahomnay", "conanthamtulungdanh");
   - in their written form only, for the few in WRITTEN_FORM_ONLY whose fold is an everyday word.
5. Episode: "tập N" / "ep N" with no known title → Drama, as a title with episodes is a series.
6. Otherwise Other.

Lookups are dictionary hits on token n-grams (an n-gram stops growing as soon as it is no prefix
of any entry); 100,000 keywords take about a second.
"""

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from customer_analytics.defs.search.classifiers import lexicon
from customer_analytics.defs.search.classifiers.classifier import Classification, Usage
from customer_analytics.defs.search.rules import CATEGORIES, FALLBACK_CATEGORY

TIE_BREAK = (
    "Sports",
    "TV Channel",
    "News",
    "Music",
    "Reality Show",
    "Animation",
    "K Drama",
    "C Drama",
    "Horror",
    "Action",
    "Comedy",
    "Romance",
    "Drama",
)
"""Between two equally long matches, the more specific category first."""

RUNON_MIN_LETTERS = 5
"""Shorter entries ("ma", "mu", "vtv") would be found by chance inside unrelated run-ons."""

_TOKEN = re.compile(r"[^\W_]+(?:\+[^\W_]*)*")
_DOUBLED_LETTER = re.compile(r"([a-z])\1+")


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord("đ"): "d", ord("Đ"): "D"}
    # Latin-1 Supplement to Latin Extended-B, and Latin Extended Additional (ạ, ế, ữ...).
    for code in (*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)):
        decomposed = unicodedata.normalize("NFD", chr(code))
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if base != chr(code):
            table[code] = base
    table.update(dict.fromkeys(range(0x0300, 0x0370)))  # stray combining marks
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """ASCII fold of Vietnamese text: "hậu duệ đà nẵng" → "hau due da nang"."""
    return text.translate(_FOLD)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _run_on(folded: str) -> str:
    """The form run-ons are compared in: no spaces, a doubled letter counted once."""
    return _DOUBLED_LETTER.sub(r"\1", folded.replace(" ", ""))


@dataclass(frozen=True, slots=True)
class _Entry:
    category: str
    written: str  # the phrase's tokens as written, joined by one space
    letters: int  # length of the space-less fold: the longer, the more specific
    written_only: bool = False
    marker: bool = False  # a music marker (rule 2)
    from_lexicon: bool = True  # False for a channel code found by pattern


@dataclass(frozen=True, slots=True)
class _Match:
    start: int  # token span [start, end)
    end: int
    entry: _Entry
    as_written: bool  # the keyword's tokens equal the phrase as written

    def rank(self) -> tuple[int, bool, bool, int]:
        return (
            self.entry.letters,
            self.as_written,
            self.entry.from_lexicon,
            -TIE_BREAK.index(self.entry.category),
        )

    def covers(self, other: "_Match") -> bool:
        return self.start <= other.start and other.end <= self.end


class _Index:
    """The lexicon compiled for lookups by folded token n-gram."""

    def __init__(
        self,
        phrases: Mapping[str, Sequence[str]],
        markers: Sequence[str],
        written_only: Sequence[str],
    ) -> None:
        self.by_key: dict[str, list[_Entry]] = {}  # folded tokens joined by one space
        self.prefixes: set[str] = set()  # every leading n-gram of a key, to stop growing early
        self.runons: dict[str, list[_Entry]] = {}  # the run-on form
        for category, category_phrases in phrases.items():
            if category not in CATEGORIES or category == FALLBACK_CATEGORY:
                raise ValueError(f"lexicon category {category!r} is not one of {CATEGORIES}")
            for phrase in category_phrases:
                self._add(phrase, category, written_only=phrase in written_only, marker=False)
        for phrase in markers:
            self._add(phrase, "Music", written_only=False, marker=True)
        self.runon_lengths = sorted({len(k) for k in self.runons if len(k) >= RUNON_MIN_LETTERS})

    def _add(self, phrase: str, category: str, *, written_only: bool, marker: bool) -> None:
        written = tokens(phrase)
        if not written:
            raise ValueError(f"lexicon phrase {phrase!r} of {category} has no letters")
        folded = [fold(token) for token in written]
        entry = _Entry(category, " ".join(written), len("".join(folded)), written_only, marker)
        for end in range(1, len(folded) + 1):
            self.prefixes.add(" ".join(folded[:end]))
        self.by_key.setdefault(" ".join(folded), []).append(entry)
        if not written_only:
            self.runons.setdefault(_run_on(" ".join(folded)), []).append(entry)


_CHANNEL_CODE = re.compile(
    rf"(?:{'|'.join(sorted(map(fold, lexicon.CHANNEL_CODE_PREFIXES), key=len, reverse=True))})"
    r"\d{1,2}(?!\d)"
)
_EPISODE = re.compile(rf"\b(?:{'|'.join(map(fold, lexicon.EPISODE_WORDS))}) ?\d+\b")
_CHANNEL_WORDS = frozenset(map(fold, lexicon.CHANNEL_WORDS))
_MATCHUP_WORDS = frozenset(map(fold, lexicon.MATCHUP_WORDS))
_CHANNEL_PREFIXES = frozenset(map(fold, lexicon.CHANNEL_CODE_PREFIXES))


def _channel_code(code: str) -> _Entry:
    return _Entry("TV Channel", code, len(code), from_lexicon=False)


class RulesClassifier:
    """Classifies keywords offline with the lexicon and the rules of this module's docstring."""

    source = "rules"

    def __init__(
        self,
        phrases: Mapping[str, Sequence[str]] = lexicon.LEXICON,
        *,
        model: str = lexicon.LEXICON_VERSION,
        batch_size: int = 1000,
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.usage = Usage()
        self._index = _Index(phrases, lexicon.MUSIC_MARKERS, lexicon.WRITTEN_FORM_ONLY)

    async def classify(self, keywords: Sequence[str]) -> AsyncIterator[list[Classification]]:
        for start in range(0, len(keywords), self.batch_size):
            classified_at = datetime.now(UTC)
            yield [
                Classification(
                    keyword, self.category(keyword), self.source, self.model, classified_at
                )
                for keyword in keywords[start : start + self.batch_size]
            ]
            # Classifying is CPU-bound: let other tasks (the caller storing a batch) run between.
            await asyncio.sleep(0)

    def category(self, keyword: str) -> str:
        """One of the 14 categories for a normalized keyword; Other when no rule fires."""
        written = tokens(keyword)
        folded = [fold(token) for token in written]
        if not folded:
            return FALLBACK_CATEGORY
        if folded[0] in _CHANNEL_WORDS:
            return "TV Channel"

        matches = self._matches(written, folded)
        known = [m for m in matches if not m.entry.marker]
        for marker in (m for m in matches if m.entry.marker):
            if not any(m.covers(marker) and m.entry.letters > marker.entry.letters for m in known):
                return "Music"
        for i in range(1, len(folded) - 1):
            if folded[i] in _MATCHUP_WORDS and not any(m.start <= i < m.end for m in known):
                return "Sports"
        if known:
            return max(known, key=_Match.rank).entry.category
        if _EPISODE.search(" ".join(folded)):
            return "Drama"
        return FALLBACK_CATEGORY

    def _matches(self, written: list[str], folded: list[str]) -> list[_Match]:
        index = self._index
        matches: list[_Match] = []
        for start in range(len(folded)):
            key = folded[start]
            end = start + 1
            while key in index.prefixes:
                as_typed = " ".join(written[start:end])
                for entry in index.by_key.get(key, ()):
                    as_written = entry.written == as_typed
                    if as_written or not entry.written_only:
                        matches.append(_Match(start, end, entry, as_written))
                if end == len(folded):
                    break
                key = f"{key} {folded[end]}"
                end += 1

        covered = {i for m in matches for i in range(m.start, m.end)}
        for i, token in enumerate(folded):
            if i not in covered:
                matches.extend(self._runon_matches(i, _run_on(token)))
            matches.extend(self._channel_codes(i, folded))
        return matches

    def _runon_matches(self, i: int, token: str) -> list[_Match]:
        """Entries typed without spaces: the whole token ("tructiepbongda"), else inside it
        ("tructiepbongdahomnay")."""
        runons = self._index.runons
        if whole := runons.get(token):
            return [_Match(i, i + 1, entry, as_written=False) for entry in whole]
        found = []
        for start in range(len(token) - RUNON_MIN_LETTERS + 1):
            for length in self._index.runon_lengths:
                if start + length > len(token):
                    break
                for entry in runons.get(token[start : start + length], ()):
                    found.append(_Match(i, i + 1, entry, as_written=False))
        return found

    @staticmethod
    def _channel_codes(i: int, folded: list[str]) -> list[_Match]:
        """Channel codes: "vtv 3" over two tokens, "vtv3" or "xemvtv3" within one."""
        token = folded[i]
        if token in _CHANNEL_PREFIXES and i + 1 < len(folded):
            number = folded[i + 1]
            if number.isdigit() and len(number) <= 2:
                return [_Match(i, i + 2, _channel_code(token + number), as_written=False)]
        if code := _CHANNEL_CODE.search(token):
            return [_Match(i, i + 1, _channel_code(code.group()), as_written=False)]
        return []
