"""What every keyword classifier offers, whatever answers it."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Classification:
    keyword: str  # normalized (defs/search/rules.py)
    category: str  # one of rules.search.CATEGORIES
    source: str  # "rules" or "openai"
    model: str  # the lexicon version or the model name
    classified_at: datetime


@dataclass
class Usage:
    """What a run cost; the openai classifier fills it, the rules classifier leaves it at zero."""

    requests: int = 0
    failed_requests: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    off_list_labels: int = 0
    unanswered_keywords: list[str] = field(default_factory=list)


class KeywordClassifier(Protocol):
    usage: Usage

    def classify(self, keywords: Sequence[str]) -> AsyncIterator[list[Classification]]:
        """Classifies normalized keywords, yielding each batch as soon as it is answered, so the
        caller can store it before the next one arrives. A keyword the classifier could not
        answer within its budget is left out and listed in `usage.unanswered_keywords`."""
        ...
