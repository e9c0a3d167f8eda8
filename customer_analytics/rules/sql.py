"""How the rules write SQL: one way to quote a literal, one way to name the first failing rule.

Every rule is a SQL expression in DuckDB's dialect that both engines run (Spark through
`engines/dialect.py`), so each rule is written once for both.
"""

from collections.abc import Mapping, Sequence


def literal(text: str) -> str:
    """A SQL string literal of `text`."""
    return "'" + text.replace("'", "''") + "'"


def literals(texts: Sequence[str]) -> str:
    """Comma-separated SQL string literals, for `IN (...)`."""
    return ", ".join(map(literal, texts))


def first_failing_reason(conditions: Mapping[str, str], reasons: Sequence[str]) -> str:
    """A CASE naming the first of `reasons` whose condition holds, NULL when none does.

    The order comes from `reasons` alone (a rules module's QUARANTINE_REASONS); `conditions`
    must give a condition for each reason and for nothing else.
    """
    if set(conditions) != set(reasons) or len(set(reasons)) != len(reasons):
        raise ValueError(f"Conditions {sorted(conditions)} do not match the reasons {reasons}")
    branches = " ".join(f"WHEN {conditions[reason]} THEN {literal(reason)}" for reason in reasons)
    return f"CASE {branches} END"
