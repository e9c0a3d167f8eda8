"""Rules for the search log: keyword normalization, validity, and the 14 keyword categories."""

import pyarrow as pa
import pyarrow.compute as pc

# Order matters: a rejected row carries the first reason it fails.
QUARANTINE_REASONS = (
    "invalid_user_id",
    "not_search_action",
    "empty_keyword",
    "voice_search",
    "duplicate_event",
)

VOICE_SEARCH_PLACEHOLDER = "Tìm kiếm bằng giọng nói"

CATEGORIES = (
    "Action",
    "Romance",
    "Comedy",
    "Horror",
    "Animation",
    "Drama",
    "C Drama",
    "K Drama",
    "Sports",
    "Music",
    "Reality Show",
    "TV Channel",
    "News",
    "Other",
)
FALLBACK_CATEGORY = "Other"

TASTES = ("Unchanged", "Changed", "New", "Churned")

# Unicode white space, not only ASCII: viewers paste titles with no-break spaces.
_WHITE_SPACE = r"[\s\p{Z}\x{0B}\x{85}]+"


def normalize_keywords(keywords: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """NFC, trimmed, runs of white space collapsed to one space, lower-cased; NULL stays NULL."""
    text = pc.utf8_normalize(keywords, "NFC")
    text = pc.replace_substring_regex(text, _WHITE_SPACE, " ")
    return pc.utf8_lower(pc.utf8_trim(text, " "))


def normalize_keyword(keyword: str) -> str:
    return normalize_keywords(pa.array([keyword], pa.string()))[0].as_py()


VOICE_SEARCH_KEYWORD = normalize_keyword(VOICE_SEARCH_PLACEHOLDER)
