"""The rules' SQL for each engine: DuckDB's dialect as written, Spark SQL through sqlglot.

The rules (`customer_analytics.rules`) and the engines write SQL in DuckDB's dialect. `render(sql,
"spark")` parses it as DuckDB SQL and writes it as Spark SQL, but only what means the same on
both engines: anything else is refused with a `ValueError` naming each construct and why, rather
than rendered into Spark SQL that runs and answers differently.

sqlglot alone is not enough. It passes functions it does not know through unchanged
(`exp.Anonymous`), and it writes many functions it does know under the same name, or a close one,
with a different meaning in Spark. So every function must be one of:

- `SAME_IN_BOTH`: checked to mean the same in both engines, rendered by sqlglot as it is;
- `ANONYMOUS_SAME_IN_BOTH`: the few functions unknown to sqlglot that Spark has with the same
  meaning, passed through by name;
- a function with a rule below (`_RULES`), which rewrites it for Spark or refuses the forms that
  cannot be rewritten.

What differs and how it is handled (each was tried on DuckDB 1.4 and Spark 4 with ANSI mode, its
default):

- `regexp_replace`: DuckDB replaces the first match (all with the `g` option), Spark every match.
  A first-match replace becomes an anchored Spark pattern that can match only once,
  `\\A((?s:.)*?)(<pattern>)`, with the replacement shifted to keep the text before the match. A
  global replace is kept only for a pattern that cannot match the empty string (RE2 and Java
  step over empty matches differently). Group references `\\1` become `$1`, a literal `$`
  becomes `\\$`. Other options (`i`, `s`, `m`, ...) are refused.
- Regular expressions (RE2 in DuckDB, java.util.regex in Spark): `$` ends the text in RE2 but
  may stop before a final line break in Java (rendered `\\z`); `.` excludes only `\\n` in RE2
  but every line terminator in Java (rendered `[^\\n]`); `\\s` includes the vertical tab in Java
  only (rendered `[\\t\\n\\f\\r ]`); `\\v` is one character in RE2, a class in Java (rendered
  `\\x0B`). Refused: `\\b`/`\\B` (Java's word boundary is Unicode-aware), POSIX classes
  `[[:alpha:]]` and `[` or `&&` inside a class (Java reads nested classes and intersections),
  inline flags such as `(?i)` (Java's case folding is ASCII-only), named groups, back
  references, and escapes one of the two does not read the same. The pattern must be a literal.
- `regexp_full_match(x, p)` does not exist in Spark: `x RLIKE '\\A(?:p)\\z'`, as DuckDB's
  `x SIMILAR TO p`. `regexp_matches` is `RLIKE`; its options are refused. DuckDB's `x ~ p` is a
  full match too, but sqlglot reads it as a partial one (and the tree no longer tells them
  apart): `~` is refused.
- `upper`: DuckDB maps each character on its own (`ß` → `ẞ`, `ﬁ` stays `ﬁ`), Spark applies
  Unicode's full mapping (`ß` → `SS`, `ﬁ` → `FI`). Only an equality test of `upper(x)` against
  ASCII literals (`=`, `<>`, `IN`, `IS [NOT] DISTINCT FROM`, `CASE upper(x) WHEN`) is rendered:
  where Spark's upper-casing changes the length, the text cannot equal an ASCII literal on DuckDB
  either, so Spark compares `x` itself. Elsewhere `upper` is refused.
- `lower`: Spark lowers U+0130 (I with dot above) to `i` + U+0307 and a word-final capital sigma
  to the final form U+03C2; DuckDB to `i` and U+03C3. Spark lowers `translate(x, ...)` of those
  two to `i` and U+03C3 first, which gives DuckDB's result.
- `LIKE`/`ILIKE`: a backslash is a plain character in DuckDB, the escape character in Spark; it
  is doubled. `ILIKE` lowers both sides as `lower` above (ASCII patterns only).
- `date_trunc`: DuckDB keeps a DATE a DATE, Spark returns a TIMESTAMP (and sqlglot's
  `TRUNC(d, 'DAY')` is NULL in Spark). The result is cast back to DATE (or to TIMESTAMP_NTZ);
  when the argument's type is not visible, the call must sit in `CAST(... AS DATE)` or
  `CAST(... AS TIMESTAMP)`.
- Casts: to an integer DuckDB rounds (half away from zero for DECIMAL, half to even for DOUBLE)
  where Spark truncates, so a visibly fractional operand is rounded first (`round`/`bround`).
  Text is read differently (DuckDB takes `'2.5'`, `'1e3'`, `'0x1F'`, `'1_000'` as integers,
  Spark none; `'2024-01'` is a date only in Spark; `1e20` prints `1e+20` and `1.0E20`): a cast
  of text to another type is refused unless the text is a literal of the plain form, or, for an
  integer, the guarded form `CASE WHEN regexp_full_match(x, '[0-9]+') THEN x END` (for a
  timestamp, the same guard with the rules' `DATETIME_PATTERN`). A DOUBLE is not cast to text. Types other than booleans, integers, DOUBLE, FLOAT, DECIMAL, text, DATE
  and TIMESTAMP are refused.
- Division: DuckDB gives ±Infinity or NaN for `x / 0` and NULL for `x % 0`; Spark raises. The
  divisor must be a non-zero literal or `NULLIF(y, 0)` (NULL in both). `/` is also DOUBLE in
  DuckDB even for DECIMAL operands (DECIMAL in Spark), so the dividend is cast to DOUBLE. `//`
  is refused: it divides exactly on DECIMALs in DuckDB and truncates in Spark.
- `string_split`: Spark's `split` takes a regular expression and keeps a trailing empty piece
  after an empty separator; the separator must be a non-empty literal and is quoted.
- `list[i]`: sqlglot shifts an integer literal to Spark's 0-based `[]` (`l[-1]` wrongly to
  `l[-2]`) but not an expression (`l[i]` is off by one), and Spark's `[]` raises out of range.
  `try_element_at(list, i)` is 1-based, counts negative indexes from the end and is NULL out of
  range, as DuckDB; index 0 is NULL in DuckDB and an error in Spark, hence `NULLIF(i, 0)`.
  Slices are refused.
- `substring`: a start of 0 and a negative length differ; both must be literals.
- String literals: Spark substitutes `${name}` in SQL text (`spark.sql.variable.substitute`), so
  a literal holding `${` is split into `'...$' || '{...'`.
- Refused outright: `INTERVAL` (DATE + INTERVAL is a TIMESTAMP in DuckDB, a DATE in Spark),
  DATE - DATE (a number, an interval), `COLLATE`, `GLOB`, `E'...'` strings, lambdas, `MAP {...}`
  (which sqlglot writes as invalid Spark SQL), `to_json` (Spark drops NULL fields), the JSON
  functions, `list()`/`array_agg` (Spark's `collect_list` drops NULLs), `list_contains` (NULL
  when the list holds a NULL in Spark), `corr` (NaN for a constant column in DuckDB, NULL in
  Spark: `covar_samp` over the `stddev_samp` is NULL in both), `bit_count`, `weekday`, and every
  function not listed here.

Same in both without help: string comparison (both compare code points, byte-wise UTF-8),
`length` (code points), `trim` (only U+0020 without characters), `concat_ws`/`greatest`
(NULLs skipped), NULL ordering (sqlglot writes DuckDB's NULLS LAST), `FILTER (WHERE ...)` on
aggregates and windows, `count(DISTINCT ...)`, `QUALIFY` (sqlglot writes a subquery).

What render() cannot see: column types. A cast of a text column to a number or a date, or of a
fractional column to an integer, still reads differently on the two engines; cast only integers
to integers (round first: `CAST(round(x) AS BIGINT)`), and text through the guarded form above.
"""

import functools
import re
from collections.abc import Callable
from datetime import date, datetime

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.tokens import TokenType

from customer_analytics.rules.text import DATETIME_PATTERN

DIALECTS = ("duckdb", "spark")

# Functions sqlglot knows and writes for Spark as they are, checked to mean the same in both.
SAME_IN_BOTH: dict[type[exp.Func], str] = {
    exp.Case: "CASE WHEN ... END is standard SQL in both.",
    exp.If: "a CASE branch, or if(c, a, b): the else value when c is NULL, in both.",
    exp.Coalesce: "coalesce/ifnull: the first non-NULL argument in both.",
    exp.Nullif: "nullif(a, b): NULL when a = b, else a, in both.",
    exp.Greatest: "greatest: both skip NULLs (NULL only when all are), strings by code point.",
    exp.Least: "least: both skip NULLs (NULL only when all are), strings by code point.",
    exp.ConcatWs: "concat_ws: both skip NULL arguments and give '' when all are NULL.",
    exp.Concat: "concat skips NULLs in DuckDB; sqlglot writes coalesce(x, '') around each for Spark.",
    exp.Length: "length/len: both count code points of a text (a list's length fails in Spark).",
    exp.Trim: "trim/ltrim/rtrim: only U+0020 without characters; any of the given code points with.",
    exp.Translate: "translate: per code point, deleting characters without a counterpart, in both.",
    exp.Replace: "replace: every occurrence, left to right; an empty search changes nothing.",
    exp.Contains: "contains on text (DuckDB's list form fails in Spark, it does not differ).",
    exp.StartsWith: "starts_with → startswith: a prefix test in both.",
    exp.EndsWith: "ends_with → endswith: a suffix test in both.",
    exp.Abs: "abs in both.",
    exp.Round: "round(x) and round(x, 0): half away from zero for DECIMAL and DOUBLE in both.",
    exp.Count: "count(*), count(x), count(DISTINCT x): NULLs not counted in both.",
    exp.Sum: "sum ignores NULLs (HUGEINT in DuckDB, BIGINT in Spark: same values).",
    exp.Min: "min ignores NULLs; strings by code point in both.",
    exp.Max: "max ignores NULLs; strings by code point in both.",
    exp.Avg: "avg ignores NULLs; DOUBLE for integers in both.",
    exp.StddevSamp: "stddev_samp ignores NULLs; NULL for fewer than two values in both.",
    exp.CovarSamp: "covar_samp over the pairs without a NULL; NULL for fewer than two in both.",
    exp.StddevPop: "stddev_pop ignores NULLs; 0 for one value, NULL for none in both.",
    exp.Ln: "ln of a positive number in both; at 0 or below DuckDB raises where Spark gives NULL, "
    "so no answer differs silently.",
    exp.RowNumber: "row_number() over a window in both.",
    exp.Rank: "rank() over a window in both.",
    exp.DenseRank: "dense_rank() over a window in both.",
    exp.Struct: "struct_pack(a := x) / {'a': x} → STRUCT(x AS a): the same named struct.",
    exp.Array: "list_value(...) / [...] → ARRAY(...): the same list, NULLs kept.",
    exp.Map: "MAP([keys], [values]) → map_from_arrays: both reject duplicate and NULL keys.",
    exp.Exists: "EXISTS (subquery) in both.",
    exp.And: "AND: three-valued logic in both.",
    exp.Or: "OR: three-valued logic in both.",
}

# Functions sqlglot does not know (exp.Anonymous) that Spark has under the same name and meaning.
ANONYMOUS_SAME_IN_BOTH: dict[str, str] = {
    "bin": "an integer as two's-complement binary digits (64 bits for negatives) in both.",
    "map_values": "a map's values, in the map's order, as a list in both.",
    "map_entries": "a map's entries as a list of {key, value} structs, in the map's order, in both.",
}

# Why some common functions are refused, to say more than "not known to mean the same".
_DIFFERENT: dict[type[exp.Expr], str] = {
    exp.ArrayAgg: "Spark's collect_list drops NULLs, DuckDB's list()/array_agg keeps them",
    exp.ArrayContains: "Spark's array_contains is NULL when the list holds a NULL and not the value",
    exp.ArraySize: "Spark's size() of NULL is -1 outside ANSI mode",
    exp.Collate: "collations are named differently; both compare code points by default",
    exp.Try: "DuckDB's try() has no Spark counterpart",
    exp.ToMap: "sqlglot writes MAP {...} as MAP STRUCT(...); write MAP([keys], [values])",
    exp.JSONExtract: "DuckDB's JSON functions have no same-meaning Spark form",
    exp.JSONExtractScalar: "DuckDB's JSON functions have no same-meaning Spark form",
    exp.IntDiv: "`//` divides exactly on DECIMALs in DuckDB and truncates in Spark's DIV",
    exp.Interval: "DATE + INTERVAL is a TIMESTAMP in DuckDB and a DATE in Spark",
    exp.Glob: "GLOB has no Spark counterpart",
    exp.ByteString: "backslash escapes in E'...' strings differ; write the character itself",
    exp.Lambda: "list functions with lambdas are not checked for Spark",
    exp.Slice: "list slices are not checked for Spark",
    exp.Corr: "corr of a constant column is NaN in DuckDB and NULL in Spark; divide covar_samp"
    " by the product of the stddev_samp, NULLIF(..., 0)",
}
_ANONYMOUS_DIFFERENT: dict[str, str] = {
    "to_json": "Spark's to_json drops NULL fields and writes numbers differently",
    "json_type": "DuckDB's JSON functions have no same-meaning Spark form",
    "from_json": "DuckDB's JSON functions have no same-meaning Spark form",
    "strlen": "counts bytes; Spark has no strlen",
    "bit_count": "counts the bits of an INTEGER as 32 in DuckDB and 64 in Spark",
    "octet_length": "DuckDB takes only a BLOB",
    "weekday": "weekday() starts on Sunday in DuckDB and on Monday in Spark",
}


class _Refused(Exception):
    """One construct of the SQL that cannot be rendered for Spark, and why."""


Rewrite = Callable[[], None]


@functools.lru_cache(maxsize=1024)  # the same SQL is rendered for every day
def render(sql: str, dialect: str) -> str:
    """`sql` (DuckDB's dialect, a query or an expression) for the engine `dialect`.

    "duckdb" returns it as it is; "spark" returns Spark SQL with the same meaning, or raises
    ValueError naming each construct that would not keep it.
    """
    if dialect == "duckdb":
        return sql
    if dialect == "spark":
        return _spark_sql(sql)
    raise ValueError(f"Unknown SQL dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")


def _spark_sql(sql: str) -> str:
    try:
        statements = [tree for tree in sqlglot.parse(sql, read="duckdb") if tree is not None]
    except SqlglotError as error:
        raise ValueError(f"Not DuckDB SQL: {error}\n{sql}") from error
    if len(statements) != 1:
        raise ValueError(f"Expected one query or expression, got {len(statements)}:\n{sql}")
    tree = statements[0]
    if isinstance(tree, (exp.DDL, exp.DML, exp.Command)):
        raise ValueError(f"Only queries and expressions are rendered, not {tree.key.upper()}")

    holder = exp.Paren(this=tree)  # so that a rewrite may replace the root too
    problems: list[str] = []
    if any(token.token_type == TokenType.TILDE for token in sqlglot.tokenize(sql, read="duckdb")):
        problems.append(
            "`~`: DuckDB's `x ~ p` is a full match, which sqlglot reads as a partial one; write"
            " regexp_full_match(x, p) (or regexp_matches(x, p) for a partial match)"
        )
    rewrites: list[Rewrite] = []
    # Children before parents: a rule sees the tree as written; its rewrite, run later in the
    # same order, sees its children already rewritten.
    for node in reversed(list(tree.walk(bfs=False))):
        try:
            if rewrite := _check(node):
                rewrites.append(rewrite)
        except _Refused as refusal:
            problems.append(str(refusal))
    if problems:
        listed = "\n".join(f"- {problem}" for problem in dict.fromkeys(problems))
        raise ValueError(f"Cannot render for Spark with the same meaning:\n{listed}\nin: {sql}")

    for rewrite in rewrites:
        rewrite()
    for literal in list(holder.find_all(exp.Literal)):
        if literal.is_string and "${" in literal.this:
            literal.replace(_without_substitution(literal.this))
    tree = holder.this
    try:
        spark_sql = tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE, comments=False)
    except SqlglotError as error:
        raise ValueError(f"sqlglot cannot write this for Spark: {error}\nin: {sql}") from error
    if "${" in spark_sql:
        raise ValueError(f"Spark would substitute the `${{...}}` in: {spark_sql}")
    return spark_sql


def _check(node: exp.Expr) -> Rewrite | None:
    """Raises _Refused if `node` would not mean the same in Spark; returns its rewrite, if any."""
    rule = _RULES.get(type(node))
    if rule is not None:
        return rule(node)
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name in ANONYMOUS_SAME_IN_BOTH:
            return None
        why = _ANONYMOUS_DIFFERENT.get(name, "not known to mean the same in Spark SQL")
        raise _Refused(f"{name}(): {why}")
    if type(node) in _DIFFERENT:
        raise _Refused(f"{_name(node)}: {_DIFFERENT[type(node)]}")
    if isinstance(node, exp.Func) and type(node) not in SAME_IN_BOTH:
        raise _Refused(f"{_name(node)}: not known to mean the same in Spark SQL")
    return None


def _name(node: exp.Expr) -> str:
    """How the DuckDB SQL spells a construct, for messages: `date_diff()`, `COLLATE`, ..."""
    duckdb_sql = node.sql(dialect="duckdb")
    if isinstance(node, exp.Func) and (call := re.match(r"([A-Za-z_][A-Za-z0-9_]*)\(", duckdb_sql)):
        return call.group(1).lower() + "()"
    return node.key.upper() if len(duckdb_sql) > 40 else f"`{duckdb_sql}`"


def _without_substitution(text: str) -> exp.Expr:
    """A string expression for `text` whose SQL never holds `${`: '...$' || '{...'."""
    parts = text.split("${")
    pieces = [parts[0] + "$", *("{" + part + "$" for part in parts[1:-1]), "{" + parts[-1]]
    expression: exp.Expr = exp.Literal.string(pieces[0])
    for piece in pieces[1:]:
        expression = exp.DPipe(this=expression, expression=exp.Literal.string(piece))
    return exp.Paren(this=expression)


# --- static types ----------------------------------------------------------------------------
# What render() can tell of a DuckDB expression's type without the columns' types: "integer",
# "decimal", "float", "text", "date", "timestamp", "boolean", or None when it cannot.

_TYPE_KINDS = {
    **dict.fromkeys(
        [exp.DType.TINYINT, exp.DType.SMALLINT, exp.DType.INT, exp.DType.BIGINT], "integer"
    ),
    exp.DType.DECIMAL: "decimal",
    **dict.fromkeys([exp.DType.FLOAT, exp.DType.DOUBLE], "float"),
    **dict.fromkeys(
        [exp.DType.VARCHAR, exp.DType.TEXT, exp.DType.CHAR, exp.DType.NVARCHAR], "text"
    ),
    exp.DType.DATE: "date",
    exp.DType.TIMESTAMPNTZ: "timestamp",  # DuckDB's TIMESTAMP, without a time zone
    exp.DType.BOOLEAN: "boolean",
}
_INTEGER_FUNCTIONS = (exp.Count, exp.Length, exp.RowNumber, exp.Rank, exp.DenseRank)
_TEXT_FUNCTIONS = (
    exp.Upper,
    exp.Lower,
    exp.Trim,
    exp.RegexpReplace,
    exp.Replace,
    exp.Translate,
    exp.Substring,
    exp.ConcatWs,
    exp.Concat,
    exp.DPipe,
)


def _kind(node: exp.Expr | None) -> str | None:
    node = _unparen(node)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "text"
        return (
            "integer" if node.this.isdigit() else "float" if "e" in node.this.lower() else "decimal"
        )
    if isinstance(node, (exp.Boolean, exp.Predicate, exp.Not)):
        return "boolean"
    if isinstance(node, exp.Cast):
        return _TYPE_KINDS.get(node.to.this)
    if isinstance(node, _INTEGER_FUNCTIONS):
        return "integer"
    if isinstance(node, _TEXT_FUNCTIONS):
        return "text"
    if isinstance(node, (exp.Div, exp.Avg)):
        return "float"
    if isinstance(node, (exp.Neg, exp.Abs, exp.Sum, exp.Min, exp.Max, exp.Round)):
        return _kind(node.this)
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        return _kind(node.this)
    if isinstance(node, exp.CurrentDate):
        return "date"
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Mod)):
        return _numeric(_kind(node.this), _kind(node.expression))
    if isinstance(node, exp.Case):
        branches = [branch.args.get("true") for branch in node.args.get("ifs") or []]
        return _same(_kind(branch) for branch in [*branches, node.args.get("default")] if branch)
    if isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
        return _same(_kind(argument) for argument in [node.this, *node.expressions])
    if isinstance(node, exp.Nullif):
        return _kind(node.this)
    return None


def _numeric(left: str | None, right: str | None) -> str | None:
    kinds = {left, right}
    if kinds <= {"integer"}:
        return "integer"
    for wider in ("float", "decimal"):
        if wider in kinds and kinds <= {"integer", "decimal", "float"}:
            return wider
    return None


def _same(kinds) -> str | None:
    found = set(kinds)
    return found.pop() if len(found) == 1 else None


def _unparen(node: exp.Expr | None) -> exp.Expr | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _string_literal(node: exp.Expr | None) -> str | None:
    node = _unparen(node)
    return node.this if isinstance(node, exp.Literal) and node.is_string else None


def _integer_literal(node: exp.Expr | None) -> int | None:
    node = _unparen(node)
    if isinstance(node, exp.Neg) and (value := _integer_literal(node.this)) is not None:
        return -value
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


# --- regular expressions: RE2 (DuckDB) → java.util.regex (Spark) -------------------------------

# The Unicode general categories, which RE2 and Java both know as \p{..} (scripts they name
# differently).
_GENERAL_CATEGORIES = {
    *("C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn"),
    *("N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps"),
    *("S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs"),
}
_SAME_ESCAPES = set("dDwWtnrfAz")  # read the same by RE2 and Java (\d and \w are ASCII in both)
_JAVA_SPECIAL = set("\\^$.|?*+()[]{}")


class _JavaRegex:
    """An RE2 pattern rewritten for java.util.regex with the same matches, or _Refused.

    A recursive-descent reading of the pattern that also works out whether it can match the
    empty string (which decides how a global replace steps) and counts its groups.
    """

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.at = 0
        self.groups = 0
        # Whether every match starts at the start (ends at the end) of the text.
        self.starts_anchored = self.ends_anchored = False
        self.java, self.nullable = self._alternation(top=True)
        if self.at < len(pattern):
            self._refuse("unbalanced ')'")

    @property
    def matches_at_most_once(self) -> bool:
        """Whether a replace-all finds at most one match (then it is a first-match replace)."""
        return self.starts_anchored or (self.ends_anchored and not self.nullable)

    def _refuse(self, why: str):
        raise _Refused(f"regular expression {self.pattern!r}: {why}")

    def _peek(self, ahead: int = 0) -> str:
        position = self.at + ahead
        return self.pattern[position] if position < len(self.pattern) else ""

    def _alternation(self, top: bool = False) -> tuple[str, bool]:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.at += 1
            branches.append(self._sequence())
        if top and len(branches) == 1:
            _, _, parts = branches[0]
            self.starts_anchored = bool(parts) and parts[0] in ("^", "\\A")
            self.ends_anchored = bool(parts) and parts[-1] == "\\z"
        java = "|".join("".join(parts) for _, _, parts in branches)
        return java, any(nullable for _, nullable, _ in branches)

    def _sequence(self) -> tuple[str, bool, list[str]]:
        """The Java text, whether it can match empty, and the Java text of each atom."""
        parts, nullable = [], True
        while self._peek() not in ("", "|", ")"):
            atom, atom_nullable, anchor = self._atom()
            atom, atom_nullable = self._quantified(atom, atom_nullable, anchor)
            parts.append(atom)
            nullable = nullable and atom_nullable
        return "".join(parts), nullable, parts

    def _atom(self) -> tuple[str, bool, bool]:
        """(Java text, can match empty, is an anchor) of the next atom."""
        char = self._peek()
        self.at += 1
        if char == "(":
            if self.pattern.startswith("?:", self.at):
                self.at += 2
                opening = "(?:"
            elif self._peek() == "?":
                self._refuse("flags, named groups and look-arounds are not read the same by Java")
            else:
                self.groups += 1
                opening = "("
            inner, nullable = self._alternation()
            if self._peek() != ")":
                self._refuse("unbalanced '('")
            self.at += 1
            return opening + inner + ")", nullable, False
        if char == "[":
            return self._class(), False, False
        if char == ".":
            return "[^\\n]", False, False  # RE2's `.` stops only at \n, Java's at every line end
        if char == "^":
            return "^", True, True
        if char == "$":
            return "\\z", True, True  # Java's `$` also matches before a final line break
        if char == "\\":
            return self._escape(in_class=False)
        if char in "*+?{":
            self._refuse(f"{char!r} repeats nothing; write \\{char} for the character")
        if char in "]}":
            return "\\" + char, False, False
        return char, False, False

    def _quantified(self, atom: str, nullable: bool, anchor: bool) -> tuple[str, bool]:
        char = self._peek()
        if char not in ("*", "+", "?", "{"):
            return atom, nullable
        if anchor:
            self._refuse("an anchor is repeated")
        if char == "{":
            bounds = re.match(r"\{(\d+)(,(\d*))?\}", self.pattern[self.at :])
            if not bounds:
                self._refuse("'{' that is not a repetition; write \\{ for the character")
            quantifier, nullable = bounds.group(0), nullable or int(bounds.group(1)) == 0
        else:
            quantifier, nullable = char, nullable or char in "*?"
        self.at += len(quantifier)
        if self._peek() == "?":
            quantifier += "?"
            self.at += 1
        if self._peek() in ("*", "+", "?", "{"):
            self._refuse("a repetition is repeated (a possessive one in Java)")
        return atom + quantifier, nullable

    def _escape(self, *, in_class: bool) -> tuple[str, bool, bool]:
        char = self._peek()
        self.at += 1
        if char == "":
            self._refuse("it ends with a backslash")
        if char in _SAME_ESCAPES:
            if in_class and char in "Az":
                self._refuse(f"\\{char} inside a class")
            return "\\" + char, char in "Az", char in "Az"
        if char == "s":
            return ("\\t\\n\\f\\r " if in_class else "[\\t\\n\\f\\r ]"), False, False
        if char == "S" and not in_class:
            return "[^\\t\\n\\f\\r ]", False, False
        if char == "v":
            return "\\x0B", False, False  # a vertical tab in RE2, every vertical space in Java
        if char == "a":
            return "\\x07", False, False
        if char == "x":
            code = re.match(r"\{[0-9A-Fa-f]{1,6}\}|[0-9A-Fa-f]{2}", self.pattern[self.at :])
            if not code:
                self._refuse("\\x without two hex digits or {hex}")
            self.at += len(code.group(0))
            return "\\x" + code.group(0), False, False
        if char in "pP":
            name = re.match(r"\{(\w+)\}|(\w)", self.pattern[self.at :])
            if not name or (name.group(1) or name.group(2)) not in _GENERAL_CATEGORIES:
                self._refuse("\\p other than a Unicode general category (\\pL, \\p{Lu}, ...)")
            self.at += len(name.group(0))
            return "\\" + char + name.group(0), False, False
        if char == "Q":
            end = self.pattern.find("\\E", self.at)
            quoted = self.pattern[self.at : end if end >= 0 else len(self.pattern)]
            self.at += len(quoted) + (2 if end >= 0 else 0)
            return _java_literal(quoted), not quoted, False
        if char.isascii() and not char.isalnum():
            return "\\" + char, False, False
        if char in "bB":
            self._refuse("\\b and \\B: Java's word boundary is Unicode-aware, RE2's ASCII")
        self._refuse(f"\\{char} is not read the same by RE2 and Java")

    def _class(self) -> str:
        java = "["
        if self._peek() == "^":
            java += "^"
            self.at += 1
        if self._peek() == "]":
            self._refuse("']' first in a class; write \\]")
        while (char := self._peek()) != "]":
            if char == "":
                self._refuse("unbalanced '['")
            self.at += 1
            if char == "\\":
                java += self._escape(in_class=True)[0]
            elif char == "[":
                self._refuse("'[' in a class (POSIX [:alpha:] or a nested class in Java)")
            elif char == "&" and self._peek() == "&":
                self._refuse("'&&' in a class is an intersection in Java")
            else:
                java += char
        self.at += 1
        return java + "]"


def _java_literal(text: str) -> str:
    return "".join("\\" + char if char in _JAVA_SPECIAL else char for char in text)


def _regex_literal(node: exp.Expr, what: str) -> _JavaRegex:
    pattern = _string_literal(node)
    if pattern is None:
        raise _Refused(f"{what}: the pattern must be a string literal to be checked")
    return _JavaRegex(pattern)


def _options(node: exp.Expr | None, allowed: str, what: str) -> str:
    if node is None:
        return ""
    options = _string_literal(node)
    if options is None or set(options) - set(allowed):
        raise _Refused(f"{what}: options {node.sql('duckdb')} (only {allowed!r} are rendered)")
    return options


def _java_replacement(replacement: str, shift: int, groups: int) -> str:
    """An RE2 rewrite string (`\\1`, `\\\\`) as a Java replacement (`$1`, `\\\\`, `\\$`)."""
    java, at = "", 0
    while at < len(replacement):
        char = replacement[at]
        if char == "\\":
            following = replacement[at + 1 : at + 2]
            if following.isdigit() and following.isascii():
                if int(following) > groups:
                    raise _Refused(f"regexp_replace: \\{following} names no group")
                java += "$" + str(int(following) + shift)
            elif following == "\\":
                java += "\\\\"
            else:
                raise _Refused(f"regexp_replace: \\{following} in the replacement")
            at += 2
            continue
        java += "\\$" if char == "$" else char
        at += 1
    return java


# --- rules -------------------------------------------------------------------------------------


# Each rule takes a node of its type, raises _Refused for a form it cannot keep, and returns the
# rewrite that gives Spark the same meaning (None when sqlglot's own output already has it).


def _regexp_replace(node: exp.RegexpReplace) -> Rewrite:
    for extra in ("position", "occurrence", "parameters"):
        if node.args.get(extra) is not None:
            raise _Refused(f"regexp_replace(): its {extra} argument")
    is_global = "g" in _options(node.args.get("modifiers"), "gc", "regexp_replace()")
    regex = _regex_literal(node.expression, "regexp_replace()")
    replacement = _string_literal(node.args.get("replacement"))
    if replacement is None:
        raise _Refused("regexp_replace(): the replacement must be a string literal")
    if is_global and regex.nullable:
        raise _Refused(
            f"regexp_replace(..., 'g') with {regex.pattern!r}, which can match the empty string:"
            " RE2 and Java step over empty matches differently"
        )
    if is_global or regex.matches_at_most_once:
        pattern, shift, before = regex.java, 0, ""
    else:  # the first match only: the text before it is group 1, the match group 2
        pattern, shift, before = f"\\A((?s:.)*?)({regex.java})", 2, "$1"
    if regex.groups + shift >= 10:
        raise _Refused("regexp_replace(): ten groups or more (Java reads $10 ambiguously)")
    java_replacement = before + _java_replacement(replacement, shift, regex.groups)

    def rewrite():
        node.replace(
            exp.RegexpReplace(
                this=node.this,
                expression=exp.Literal.string(pattern),
                replacement=exp.Literal.string(java_replacement),
            )
        )

    return rewrite


def _regexp_matches(node: exp.RegexpLike) -> Rewrite:
    _options(node.args.get("flag"), "c", "regexp_matches()")
    regex = _regex_literal(node.expression, "regexp_matches()")
    return lambda: node.replace(
        exp.RegexpLike(this=node.this, expression=exp.Literal.string(regex.java))
    )


def _regexp_full_match(node: exp.RegexpFullMatch | exp.SimilarTo) -> Rewrite:
    """regexp_full_match(x, p) and DuckDB's x SIMILAR TO p (a regular expression there too)."""
    what = "regexp_full_match()" if isinstance(node, exp.RegexpFullMatch) else "SIMILAR TO"
    if any(
        value is not None for key, value in node.args.items() if key not in ("this", "expression")
    ):
        raise _Refused(f"{what}: options or ESCAPE")
    regex = _regex_literal(node.expression, what)
    anchored = f"\\A(?:{regex.java})\\z"
    return lambda: node.replace(
        exp.RegexpLike(this=node.this, expression=exp.Literal.string(anchored))
    )


def _compared_to_ascii(node: exp.Expr) -> bool:
    """Whether `node` is only tested for equality with ASCII string literals."""
    child, parent = node, node.parent
    while isinstance(parent, exp.Paren):
        child, parent = parent, parent.parent

    def ascii_literal(other: exp.Expr) -> bool:
        text = _string_literal(other)
        return text is not None and text.isascii()

    if isinstance(parent, (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ)):
        return ascii_literal(parent.expression if parent.this is child else parent.this)
    if isinstance(parent, exp.Case) and parent.this is child:  # CASE upper(x) WHEN 'A' THEN ...
        return all(ascii_literal(branch.this) for branch in parent.args.get("ifs") or [])
    if isinstance(parent, exp.In) and parent.this is child:
        values = parent.expressions
        plain = not parent.args.get("query") and not parent.args.get("unnest")
        return plain and bool(values) and all(ascii_literal(value) for value in values)
    return False


def _upper(node: exp.Upper) -> Rewrite:
    if not _compared_to_ascii(node):
        raise _Refused(
            "upper() other than compared with ASCII literals: DuckDB upper-cases each character"
            " on its own (ß → ẞ, ﬁ stays ﬁ), Spark with Unicode's full mapping (ß → SS, ﬁ → FI)"
        )

    def rewrite():
        # Where Spark's mapping changes the length, DuckDB's result keeps a non-ASCII
        # character and equals no ASCII literal: compare the text itself, which does not either.
        text = node.this
        same_length = exp.EQ(
            this=exp.Length(this=exp.Upper(this=text.copy())),
            expression=exp.Length(this=text.copy()),
        )
        node.replace(
            exp.Case(
                ifs=[exp.If(this=same_length, true=exp.Upper(this=text.copy()))],
                default=text.copy(),
            )
        )

    return rewrite


def _spark_lower(text: exp.Expr) -> exp.Expr:
    """Spark's lower() of `text` with DuckDB's result: U+0130 → i (not i + U+0307), and capital
    sigma → U+03C3 even at the end of a word (not the final form U+03C2)."""
    before, after = exp.Literal.string("\u0130\u03a3"), exp.Literal.string("i\u03c3")
    return exp.Lower(this=exp.Translate(this=text, from_=before, to=after))


def _lower(node: exp.Lower) -> Rewrite:
    return lambda: node.replace(_spark_lower(node.this))


def _like(node: exp.Like | exp.ILike) -> Rewrite | None:
    ilike = isinstance(node, exp.ILike)
    if isinstance(node.parent, exp.Escape):  # an explicit ESCAPE reads the same in both
        if ilike:
            raise _Refused("ILIKE ... ESCAPE is not checked for Spark")
        return None
    pattern = _string_literal(node.expression)
    if pattern is None:
        raise _Refused("LIKE: the pattern must be a string literal (a backslash escapes in Spark)")
    if ilike and not pattern.isascii():
        raise _Refused("ILIKE with a non-ASCII pattern: case folding differs beyond ASCII")
    spark_pattern = (pattern.lower() if ilike else pattern).replace("\\", "\\\\")

    def rewrite():
        text = _spark_lower(node.this) if ilike else node.this
        node.replace(
            exp.Like(
                this=text,
                expression=exp.Literal.string(spark_pattern),
                negate=node.args.get("negate"),
            )
        )

    return rewrite


def _number_literal(node: exp.Expr | None) -> float | None:
    node = _unparen(node)
    if isinstance(node, exp.Neg) and (value := _number_literal(node.this)) is not None:
        return -value
    if isinstance(node, exp.Literal) and not node.is_string:
        return float(node.this)
    return None


def _check_divisor(node: exp.Div | exp.Mod) -> None:
    divisor = _unparen(node.expression)
    if isinstance(divisor, exp.Nullif) and _number_literal(divisor.expression) == 0:
        return
    if _number_literal(divisor) not in (None, 0):
        return
    operator = "/" if isinstance(node, exp.Div) else "%"
    raise _Refused(
        f"{operator} by {divisor.sql('duckdb')}: a zero divisor gives ±Infinity, NaN or NULL in"
        " DuckDB and an error in Spark; divide by NULLIF(divisor, 0) or a non-zero literal"
    )


def _div(node: exp.Div) -> Rewrite:
    _check_divisor(node)
    return lambda: node.replace(
        exp.Div(
            this=exp.Cast(this=node.this, to=exp.DataType(this=exp.DType.DOUBLE)),
            expression=node.expression,
        )
    )


def _mod(node: exp.Mod) -> None:
    _check_divisor(node)


def _sub(node: exp.Sub) -> None:
    temporal = {"date", "timestamp"}
    if _kind(node.this) in temporal and _kind(node.expression) in temporal:
        raise _Refused("DATE - DATE: a number of days in DuckDB, an interval in Spark")


def _bracket(node: exp.Bracket) -> Rewrite | None:
    if len(node.expressions) != 1 or isinstance(node.expressions[0], exp.Slice):
        raise _Refused(f"{node.sql('duckdb')}: only one index or key is rendered")
    if _string_literal(node.expressions[0]) is not None:  # a struct's field, a map's key
        return None
    # sqlglot has moved an integer literal to 0-based (l[1] is stored l[0], l[-1] l[-2]) and
    # left any other index as written (so its Spark l[i] would be off by one).
    stored = _integer_literal(node.expressions[0])
    index = None if stored is None else stored + 1
    if index == 0:
        raise _Refused(f"{node.sql('duckdb')}: index 0 is always NULL in DuckDB")

    def rewrite():
        if index is None:
            zero = exp.Literal.number(0)
            spark_index = exp.Nullif(this=node.expressions[0], expression=zero)
        else:
            spark_index = exp.Literal.number(index)
        node.replace(exp.Anonymous(this="try_element_at", expressions=[node.this, spark_index]))

    return rewrite


def _split(node: exp.Split) -> Rewrite:
    separator = _string_literal(node.expression)
    if not separator:
        raise _Refused(
            "string_split(): the separator must be a non-empty string literal (Spark splits on"
            " a regular expression, and keeps a trailing empty piece after an empty separator)"
        )
    quoted = exp.Literal.string(_java_literal(separator))
    return lambda: node.replace(
        exp.Anonymous(this="split", expressions=[node.this, quoted, exp.Literal.number(-1)])
    )


def _substring(node: exp.Substring) -> None:
    start, length = node.args.get("start"), node.args.get("length")
    if _integer_literal(start) in (None, 0):
        raise _Refused(
            "substring(): the start must be a non-zero integer literal (0 differs in Spark)"
        )
    if length is not None and (_integer_literal(length) is None or _integer_literal(length) < 0):
        raise _Refused(
            "substring(): the length must be a literal ≥ 0 (a negative one differs in Spark)"
        )


_TRUNC_UNITS = ("YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND")


def _date_trunc(node: exp.DateTrunc | exp.TimestampTrunc) -> Rewrite:
    unit = node.args.get("unit")
    unit_name = unit.name.upper() if unit is not None else ""
    if unit_name not in _TRUNC_UNITS:
        raise _Refused(f"date_trunc(): the unit must be one of {', '.join(_TRUNC_UNITS)}")
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    target = None
    if not (
        isinstance(parent, exp.Cast) and _TYPE_KINDS.get(parent.to.this) in ("date", "timestamp")
    ):
        kind = _kind(node.this)
        if kind not in ("date", "timestamp"):
            raise _Refused(
                "date_trunc() of an argument of unknown type: DuckDB keeps a DATE a DATE, Spark"
                " returns a TIMESTAMP; write CAST(date_trunc(...) AS DATE) (or AS TIMESTAMP)"
            )
        target = exp.DType.DATE if kind == "date" else exp.DType.TIMESTAMPNTZ

    def rewrite():
        call = exp.Anonymous(
            this="date_trunc", expressions=[exp.Literal.string(unit_name), node.this]
        )
        node.replace(call if target is None else exp.Cast(this=call, to=exp.DataType(this=target)))

    return rewrite


_DIGITS_PATTERN = re.compile(r"(\[\+-\]\?|-\?)?(\[0-9\]|\\d)(\+|\{\d+(,\d+)?\})")


def _guard_reads_alike(pattern: str, target: str) -> bool:
    """Whether both engines read every text that fully matches `pattern` as the same `target`:
    digits as an integer; the rules' `YYYY-MM-DD HH:MM:SS[.ffffff]` shape as a timestamp (the
    calendar, 30 February say, is NULL in both)."""
    if target == "integer":
        return _DIGITS_PATTERN.fullmatch(pattern) is not None
    return target == "timestamp" and pattern == DATETIME_PATTERN


def _guarded(operand: exp.Expr, target: str) -> bool:
    """`CASE WHEN regexp_full_match(x, p) [AND ...] THEN x END`, where `p` admits only text
    that both engines read as the same `target`, or NULL."""
    if not isinstance(operand, exp.Case) or operand.args.get("default") is not None:
        return False
    branches = operand.args.get("ifs") or []
    if len(branches) != 1:
        return False
    value = _unparen(branches[0].args.get("true"))
    conditions = (
        list(branches[0].this.flatten())
        if isinstance(branches[0].this, exp.And)
        else [branches[0].this]
    )
    return any(
        isinstance(condition := _unparen(each), exp.RegexpFullMatch)
        and _unparen(condition.this) == value
        and _guard_reads_alike(_string_literal(condition.expression) or "", target)
        for each in conditions
    )


def _plain_text(text: str, kind: str) -> bool:
    """Whether both engines read the literal `text` as the same value of `kind`."""
    if kind == "integer":
        return re.fullmatch(r"[+-]?[0-9]+", text) is not None
    if kind in ("decimal", "float"):
        return re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", text) is not None
    if kind == "boolean":
        return text in ("true", "false")
    try:
        if kind == "date":
            return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None and bool(
                date.fromisoformat(text)
            )
        if kind == "timestamp":
            shape = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?"
            return re.fullmatch(shape, text) is not None and bool(datetime.fromisoformat(text))
    except ValueError:
        return False
    return False


_TEXT_READ = {
    "integer": "DuckDB reads '2.5', '1e3', '0x1F' and '1_000' as integers, Spark none of them;"
    " cast CASE WHEN regexp_full_match(x, '[0-9]+') THEN x END instead",
    "decimal": "'1_000' is a number in DuckDB only, '1.5d' in Spark only",
    "float": "'1_000' is a number in DuckDB only, '1.5d' in Spark only",
    "boolean": "the readings of booleans in text are not checked to agree",
    "date": "DuckDB and Spark read dates in text differently ('2024-01' is a date in Spark only)",
    "timestamp": "DuckDB and Spark read times in text differently ('2024-01' is one in Spark only);"
    " cast CASE WHEN regexp_full_match(x, DATETIME_PATTERN) THEN x END instead",
}


def _cast(node: exp.Cast) -> Rewrite | None:
    call = "TRY_CAST" if isinstance(node, exp.TryCast) else "CAST"
    target = _TYPE_KINDS.get(node.to.this)
    parameters = node.to.expressions
    if target is None or (parameters and target != "decimal"):
        raise _Refused(
            f"{call}(... AS {node.to.sql('duckdb')}): only BOOLEAN, TINYINT to BIGINT, FLOAT,"
            " DOUBLE, DECIMAL, VARCHAR, DATE and TIMESTAMP are rendered"
        )
    operand = _unparen(node.this)
    source = _kind(operand)
    if source == "text" and target != "text":
        literal = _string_literal(operand)
        guarded = _guarded(operand, target)
        if not guarded and not (literal is not None and _plain_text(literal, target)):
            raise _Refused(f"{call} of text to {node.to.sql('duckdb')}: {_TEXT_READ[target]}")
    if target == "text" and source == "float":
        raise _Refused(f"{call} of a DOUBLE to text: DuckDB writes 1e+20, Spark 1.0E20")
    if (
        target == "integer"
        and source in ("decimal", "float")
        and not isinstance(operand, exp.Round)
    ):
        # DuckDB rounds where Spark truncates: half away from zero (Spark's round) for a
        # DECIMAL, half to even (Spark's bround) for a DOUBLE.
        def rewrite():
            value = node.this
            rounded = (
                exp.Round(this=value)
                if source == "decimal"
                else exp.Anonymous(this="bround", expressions=[value])
            )
            node.set("this", rounded)

        return rewrite
    return None


def _round(node: exp.Round) -> None:
    decimals = node.args.get("decimals")
    if decimals is not None and _integer_literal(decimals) != 0:
        raise _Refused("round(x, n) with n ≠ 0 is not checked for Spark")


_RULES: dict[type[exp.Expr], Callable[..., Rewrite | None]] = {
    exp.RegexpReplace: _regexp_replace,
    exp.RegexpLike: _regexp_matches,
    exp.RegexpFullMatch: _regexp_full_match,
    exp.SimilarTo: _regexp_full_match,
    exp.Upper: _upper,
    exp.Lower: _lower,
    exp.Like: _like,
    exp.ILike: _like,
    exp.Div: _div,
    exp.Mod: _mod,
    exp.Sub: _sub,
    exp.Bracket: _bracket,
    exp.Split: _split,
    exp.Substring: _substring,
    exp.DateTrunc: _date_trunc,
    exp.TimestampTrunc: _date_trunc,
    exp.Cast: _cast,
    exp.TryCast: _cast,
    exp.Round: _round,
}
