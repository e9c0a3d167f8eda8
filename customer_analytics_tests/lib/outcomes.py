"""Reading check outcomes in tests."""

from customer_analytics.lib.checks import Check, Outcome


def check(checks: list[Check], name: str) -> Check:
    (found,) = [c for c in checks if c.name == name]
    return found


def figures(outcome: Outcome) -> dict:
    """The outcome's metadata as plain values (JSON metadata unwrapped)."""
    return {key: getattr(value, "value", value) for key, value in outcome.metadata.items()}


def assert_fails_with(outcome: Outcome, expected: dict) -> None:
    assert not outcome.passed
    assert {key: figures(outcome)[key] for key in expected} == expected
