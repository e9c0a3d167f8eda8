"""How each engine decodes a line of the viewing log into DECODED_FIELDS: the one part of the
content domain written per engine, as JSON parsing is each engine's own. The rules then run on
the decoded fields, in the same SQL on both engines (`transforms.py`).

Both read `lines` (`file`, `line_number`, `raw_line`: `Engine.text_lines`) and apply the strictness of
`rules.py`: a strict JSON object, no trailing comma, no NaN or Infinity, no key that is read twice.
"""

from collections.abc import Sequence

from customer_analytics.defs.content.rules import (
    HIT_KEYS,
    JSON_STRING,
    NOT_STRICT_JSON,
    NOT_STRICT_OUTSIDE_STRINGS,
    SOURCE_KEYS,
)
from customer_analytics.engines.base import Engine, Source
from customer_analytics.engines.dialect import render
from customer_analytics.engines.storage import Location
from customer_analytics.rules.sql import literal, literals

# What an engine decodes from each line of a day file, as it is in the line:
DECODED_FIELDS = (
    "file",  # the file's index among those read
    "line_number",  # 1-based physical line of the file
    "raw_line",  # its text, line ending and a leading byte-order mark removed
    "is_object",  # a strict JSON object (rules.py NOT_STRICT_JSON)
    "has_source",  # its `_source` is an object
    "_id",
    "Contract",  # the `_source` members as text, NULL when absent or null
    "Mac",
    "AppName",
    "duration_kind",  # TotalDuration: 'integer', 'string' or NULL for any other JSON value
    "duration_text",
)


# DuckDB


# One JSON parse per line: the hit's envelope, then its `_source`, as typed structs.
_HIT_SHAPE = '{"_id": "VARCHAR", "_source": "JSON"}'
_SOURCE_SHAPE = (
    '{"Contract": "VARCHAR", "Mac": "VARCHAR", "AppName": "VARCHAR", "TotalDuration": "JSON"}'
)
# DuckDB's JSON parser has no strict mode: it also takes trailing commas and NaN, which the
# rules' NOT_STRICT_JSON pattern finds outside strings, and repeated keys, of which it reads the
# first (defs/content/rules.py: no key that is read repeats). One pass of one pattern over each line
# finds the few lines that may be either (a read key twice as text); only those are checked.
_KEY_TWICE = "|".join(f'"{key}"[\\s\\S]*"{key}"' for key in (*HIT_KEYS, *SOURCE_KEYS))
_MAY_BE_NOT_STRICT = f"{NOT_STRICT_JSON}|{_KEY_TWICE}"


def _read_keys_unique(json: str, keys: tuple[str, ...]) -> str:
    """None of `keys` repeats among the members of a JSON object (true for any other value)."""
    read = f"list_filter(json_keys({json}), key -> key IN ({literals(keys)}))"
    return f"coalesce(len({read}) = len(list_distinct({read})), true)"


_STRICT = (
    f"CASE WHEN regexp_matches(raw_line, {literal(_MAY_BE_NOT_STRICT)}) "
    f"THEN NOT regexp_matches(raw_line, {literal(NOT_STRICT_JSON)}) "
    f"AND {_read_keys_unique('json', HIT_KEYS)} "
    f"AND {_read_keys_unique('hit._source', SOURCE_KEYS)} ELSE true END"
)

# Every JSON function reads `json`, which TRY_CAST leaves NULL where the line is not JSON: a
# function that raises inside `try()` makes DuckDB evaluate its whole vector again row by row
# (ten times slower on a real day), and a CASE guard does not hold over a dictionary-encoded
# column, whose functions DuckDB runs on the whole dictionary.
_DUCKDB = f"""
    WITH hits AS (
        SELECT file, line_number, raw_line, TRY_CAST(raw_line AS JSON) AS json
        FROM lines
    ), objects AS (
        SELECT file, line_number, raw_line, json, json_type(json) = 'OBJECT' AS is_object,
               from_json(json, '{_HIT_SHAPE}') AS hit
        FROM hits
    ), fields AS (
        SELECT file, line_number, raw_line,
               is_object AND {_STRICT} AS is_object,
               hit._id AS _id,
               json_type(hit._source) = 'OBJECT' AS has_source,
               from_json(hit._source, '{_SOURCE_SHAPE}') AS source
        FROM objects
    )
    SELECT file, line_number, raw_line, is_object, has_source, _id,
           source.Contract AS Contract, source.Mac AS Mac, source.AppName AS AppName,
           CASE json_type(source.TotalDuration)
               WHEN 'BIGINT' THEN 'integer' WHEN 'UBIGINT' THEN 'integer'
               WHEN 'VARCHAR' THEN 'string'
           END AS duration_kind,
           source.TotalDuration->>'$' AS duration_text
    FROM fields
"""


# Spark


# The strictness of JSON (defs/content/rules.py) on the line's skeleton: its text with every string
# token replaced by `""`, computed once.
# - Outside strings, a strict object has no trailing comma and no non-finite literal
#   (NOT_STRICT_OUTSIDE_STRINGS).
# - Spark's parser stops after the first JSON value and ignores what follows (`{...} {...}`,
#   `{...}}`, `{...} 5`): the line is one object when its skeleton ends with `}` and the first
#   bracket that brings the depth back to 0 is the skeleton's last bracket.
# - No key that is read repeats in the hit or in its `_source`: the parsed object keeps one
#   value per key, `json_object_keys` lists them all.
def _without_strings(text: str) -> str:
    """Spark SQL of `text` (a Spark expression) with its JSON strings replaced by `""`."""
    rendered = render(f"regexp_replace(json_text, {literal(JSON_STRING)}, '\"\"', 'g')", "spark")
    return rendered.replace("json_text", text, 1)


_BRACKETS = r"regexp_replace(skeleton, '[^\\[\\]{}]', '')"
_STEP = "CASE WHEN bracket IN ('{', '[') THEN 1 ELSE -1 END"
_ONE_VALUE = f"""aggregate(
    split({_BRACKETS}, ''),
    named_struct('depth', 0, 'closed_at', -1, 'at', 0),
    (scan, bracket) -> named_struct(
        'depth', scan.depth + {_STEP},
        'closed_at', CASE WHEN scan.closed_at < 0 AND scan.depth + {_STEP} = 0
                          THEN scan.at ELSE scan.closed_at END,
        'at', scan.at + 1),
    scan -> scan.closed_at = scan.at - 1)"""


def _read_keys_unique(raw: str, keys: tuple[str, ...]) -> str:
    read = f"filter(json_object_keys({raw}), key -> key IN ({literals(keys)}))"
    return f"size({read}) = size(array_distinct({read}))"


def _twice_as_text(key: str) -> str:
    """The key, quoted, occurs twice in the line: only then can it repeat in the object."""
    quoted = literal(f'"{key}"')
    return f"locate({quoted}, raw_line, locate({quoted}, raw_line) + 1) > 0"


# Counting keys parses the line again: only the lines that may repeat a key are counted.
_NO_READ_KEY_REPEATED = (
    f"CASE WHEN {' OR '.join(map(_twice_as_text, (*HIT_KEYS, *SOURCE_KEYS)))} THEN "
    + _read_keys_unique("raw_line", HIT_KEYS)
    + " AND (source_members IS NULL OR "
    + _read_keys_unique("get_json_object(raw_line, '$._source')", SOURCE_KEYS)
    + ") ELSE true END"
)


_WHOLE_OBJECT = " AND ".join(
    [
        r"endswith(regexp_replace(skeleton, '[ \t\r\n]+$', ''), '}')",
        _ONE_VALUE,
        render(f"NOT regexp_matches(skeleton, {literal(NOT_STRICT_OUTSIDE_STRINGS)})", "spark"),
        _NO_READ_KEY_REPEATED,
    ]
)


def _braces_doubled(sql: str) -> str:
    """PySpark formats the SQL text to put the sources in: literal braces are doubled."""
    return sql.replace("{", "{{").replace("}", "}}")


def _spark_string(text: str) -> str:
    """A Spark SQL string literal of `text`: Spark reads backslash escapes in literals."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# Nearly every line is plain: its text matches PLAIN_LINE, a grammar of strict JSON narrowed to
# one object whose values are strings without escapes, integers, null, or objects of those.
# Such a line is strict JSON and nothing after it, so Spark's JSON reader, typed, reads it alone.
# The pattern is linear: each token is taken whole (possessive) and never tried again. A plain
# line repeats no read key when the read keys occur as text as many times as the reader found
# them (a string cannot hold a quote, so each occurrence is a key or a whole string value).
# Every other line takes the exact decode.
_BLANK = r"[ \t]*+"
_STRING = r'"[^"\\\x00-\x1F]*+"'
_SCALAR = rf"(?:{_STRING}|-?(?:0|[1-9][0-9]*+)|null)"


def _object_of(value: str) -> str:
    member = rf"{_STRING}{_BLANK}:{_BLANK}{value}{_BLANK}"
    return rf"\{{{_BLANK}(?:{member}(?:,{_BLANK}{member})*+)?\}}"


_PLAIN_LINE = rf"^{_BLANK}{_object_of(rf'(?:{_SCALAR}|{_object_of(_SCALAR)})')}{_BLANK}$"
_READ_MEMBERS = ", ".join(f"{key}: STRING" for key in SOURCE_KEYS)
_TYPED = f"from_json(raw_line, {literal(f'_id STRING, _source STRUCT<{_READ_MEMBERS}>')})"
_READ_KEY_TEXT = '"(?:' + "|".join((*HIT_KEYS, *SOURCE_KEYS)) + ')"'
_READ_KEYS_FOUND = " + ".join(
    f"CAST(typed.{path} IS NOT NULL AS INT)"
    for path in ("_id", "_source", *(f"_source.{key}" for key in SOURCE_KEYS))
)
_PLAIN = (
    f"typed IS NOT NULL "
    f"AND regexp_count(raw_line, {_spark_string(_READ_KEY_TEXT)}) = {_READ_KEYS_FOUND}"
)

# The exact decode, for the lines that are not plain: JSON parsed to a variant, and the rules'
# strictness checked on the line's skeleton. TotalDuration's text is all that the duration rule
# reads of a plain line: only an integer or a string can read as digits there, so its kind is
# 'string'.
_SPARK = f"""
    WITH typed_lines AS (
        SELECT file, line_number, raw_line,
               IF(raw_line RLIKE {_braces_doubled(_spark_string(_PLAIN_LINE))},
                  {_braces_doubled(_TYPED)}, NULL) AS typed
        FROM {{lines}}
    ), sorted AS (
        SELECT file, line_number, raw_line, typed, {_braces_doubled(_PLAIN)} AS plain
        FROM typed_lines
    ), parsed AS (
        SELECT *, CASE WHEN NOT plain THEN try_parse_json(raw_line) END AS hit,
               CASE WHEN NOT plain THEN {_braces_doubled(_without_strings("raw_line"))} END
                   AS skeleton
        FROM sorted
    ), objects AS (
        SELECT *, try_variant_get(hit, '$', 'map<string, variant>') AS members,
               try_variant_get(hit, '$._source', 'map<string, variant>') AS source_members,
               variant_get(hit, '$._source.TotalDuration') AS duration
        FROM parsed
    )
    SELECT file, line_number, raw_line,
           plain OR (members IS NOT NULL AND {_braces_doubled(_WHOLE_OBJECT)}) AS is_object,
           IF(plain, typed._source IS NOT NULL, source_members IS NOT NULL) AS has_source,
           IF(plain, typed._id, try_variant_get(hit, '$._id', 'string')) AS _id,
           IF(plain, typed._source.Contract, try_variant_get(hit, '$._source.Contract', 'string'))
               AS Contract,
           IF(plain, typed._source.Mac, try_variant_get(hit, '$._source.Mac', 'string')) AS Mac,
           IF(plain, typed._source.AppName, try_variant_get(hit, '$._source.AppName', 'string'))
               AS AppName,
           IF(plain, IF(typed._source.TotalDuration IS NOT NULL, 'string', NULL),
              CASE schema_of_variant(duration)
                  WHEN 'BIGINT' THEN 'integer' WHEN 'STRING' THEN 'string'
              END) AS duration_kind,
           IF(plain, typed._source.TotalDuration, try_variant_get(duration, '$', 'string'))
               AS duration_text
    FROM objects
"""


_DECODE = {"duckdb": _DUCKDB, "spark": _SPARK}


def decoded_lines(engine: Engine, location: Location, relatives: Sequence[str]) -> Source:
    """The lines of viewing-log files, decoded into DECODED_FIELDS."""
    return engine.native(_DECODE[engine.name], lines=engine.text_lines(location, relatives))
