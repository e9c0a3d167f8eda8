"""White space and trimming, defined once for every rule that trims (docs/contract.md §3).

White space is the Unicode White_Space property: the ASCII controls tab to carriage return, the
space, NEXT LINE, the no-break spaces and the other space and separator characters. DuckDB's and
Spark's one-argument `trim` strip only the space, so a tab-padded contract or a `"\\t"` contract
would slip through them.
"""

from customer_analytics.rules.sql import literal

# The 25 characters of the Unicode White_Space property, in code-point order.
WHITE_SPACE = (
    "\t\n\v\f\r \u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

# The same characters as a regular-expression class, in the `\x{...}` escapes that RE2 (DuckDB,
# Arrow) and Java (Spark) both read.
WHITE_SPACE_CLASS = "[" + "".join(f"\\x{{{ord(char):04X}}}" for char in WHITE_SPACE) + "]"


def trimmed_sql(expression: str) -> str:
    """A string expression with white space stripped from both ends; NULL stays NULL.

    Two anchored `regexp_replace`, each matching at most once, so DuckDB (first match) and Spark
    (every match) replace the same text. Matching is by code point, never by byte. DuckDB's
    `trim(BOTH characters FROM x)` gives the same result but runs several times slower.
    """
    leading = f"regexp_replace({expression}, {literal('^' + WHITE_SPACE_CLASS + '+')}, '')"
    return f"regexp_replace({leading}, {literal(WHITE_SPACE_CLASS + '+$')}, '')"


# A date and time in text, once trimmed, that DuckDB and Spark read as the same timestamp
# (`engines/dialect.py` lets a cast of text to a timestamp through only behind it):
# `YYYY-MM-DD HH:MM:SS` (or a `T` between date and time) with up to 6 digits of fraction, the
# precision of a stored timestamp. A value of another shape is to be quarantined rather than
# guessed at: DuckDB's cast would read `24:00:00` as the next day, drop a `+07` offset and take
# `infinity`. The calendar (month 13, 30 February) is checked by the cast itself.
DATETIME_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
)
