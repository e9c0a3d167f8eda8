"""The keyword classifier chosen by `KEYWORD_CLASSIFIER`: `rules` (offline) or `openai`."""

from collections.abc import Callable

import dagster as dg

from customer_analytics.defs.search.classifiers.classifier import KeywordClassifier
from customer_analytics.settings import Settings


class KeywordClassifierResource(dg.ConfigurableResource):
    """`rules` needs nothing; `openai` talks to any OpenAI-compatible server."""

    kind: str = "rules"
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_batch_size: int = 50
    openai_max_concurrency: int = 4
    openai_max_requests: int = 200
    openai_timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "KeywordClassifierResource":
        """The classifier KEYWORD_CLASSIFIER names; the API key as `dg.EnvVar`, so the UI shows
        the variable's name, never its value."""
        openai = settings.keyword_classifier == "openai"
        return cls(
            kind=settings.keyword_classifier,
            openai_api_key=dg.EnvVar("OPENAI_API_KEY") if openai else None,
            openai_base_url=settings.openai_base_url,
            openai_model=settings.openai_model,
            openai_max_requests=settings.openai_max_requests,
        )

    def build(self, log: Callable[[str], None]) -> KeywordClassifier:
        if self.kind == "rules":
            from customer_analytics.defs.search.classifiers.rules_classifier import RulesClassifier

            return RulesClassifier()
        if self.kind == "openai":
            from customer_analytics.defs.search.classifiers.openai_classifier import (
                OpenAIClassifier,
            )

            return OpenAIClassifier(
                api_key=self.openai_api_key,
                base_url=self.openai_base_url,
                model=self.openai_model,
                batch_size=self.openai_batch_size,
                max_concurrency=self.openai_max_concurrency,
                max_requests=self.openai_max_requests,
                timeout_seconds=self.openai_timeout_seconds,
                log=log,
            )
        raise dg.Failure(f"KEYWORD_CLASSIFIER={self.kind!r}: expected rules or openai")
