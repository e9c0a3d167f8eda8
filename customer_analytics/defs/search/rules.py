"""Rules for the search log: keyword normalization, validity, and the 14 keyword categories."""

import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.rules.identifiers import MAX_KEYWORD_LENGTH, MAX_USER_ID_LENGTH
from customer_analytics.rules.sql import literal
from customer_analytics.rules.text import DATETIME_PATTERN, WHITE_SPACE_CLASS, trimmed_sql

# Order matters: a rejected row carries the first reason it fails.
QUARANTINE_REASONS = (
    "invalid_user_id",
    "user_id_too_long",
    "not_search_action",
    "empty_keyword",
    "keyword_too_long",
    "voice_search",
    "invalid_datetime",
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
_WHITE_SPACE_RUN = WHITE_SPACE_CLASS + "+"


def normalize_keywords(keywords: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """NFC, trimmed, runs of white space collapsed to one space, lower-cased; NULL stays NULL."""
    text = pc.utf8_normalize(keywords, "NFC")
    text = pc.replace_substring_regex(text, _WHITE_SPACE_RUN, " ")
    return pc.utf8_lower(pc.utf8_trim(text, " "))


def normalize_keyword(keyword: str) -> str:
    return normalize_keywords(pa.array([keyword], pa.string()))[0].as_py()


VOICE_SEARCH_KEYWORD = normalize_keyword(VOICE_SEARCH_PLACEHOLDER)


def datetime_sql(text: str) -> str:
    """The timestamp of a trimmed `datetime` text of the DATETIME_PATTERN shape, else NULL."""
    trimmed = trimmed_sql(text)
    return (
        f"TRY_CAST(CASE WHEN regexp_full_match({trimmed}, {literal(DATETIME_PATTERN)}) "
        f"THEN {trimmed} END AS TIMESTAMP)"
    )


def invalid_user_id_sql(user_id: str) -> str:
    """True when a trimmed user_id expression is null, empty or `NULL` in any case."""
    return f"({user_id} IS NULL OR {user_id} = '' OR upper({user_id}) = 'NULL')"


# When a row fails each rule, over the columns of a search row once typed
# (`defs/search/transforms.py`): the trimmed user_id, the normalized keyword, the parsed datetime and
# whether its eventID came earlier in the day.
REASON_CONDITIONS = {
    "invalid_user_id": invalid_user_id_sql("user_id_trimmed"),
    "user_id_too_long": f"length(user_id_trimmed) > {MAX_USER_ID_LENGTH}",
    "not_search_action": f"lower({trimmed_sql('action')}) IS DISTINCT FROM 'search'",
    "empty_keyword": "normalized IS NULL OR normalized = ''",
    "keyword_too_long": f"length(normalized) > {MAX_KEYWORD_LENGTH}",
    "voice_search": f"normalized = {literal(VOICE_SEARCH_KEYWORD)}",
    # A NULL datetime is an unknown time, kept NULL; text that is not a time is quarantined.
    "invalid_datetime": "datetime IS NOT NULL AND parsed_datetime IS NULL",
    "duplicate_event": "repeated_event",
}
