"""The web domain's configuration as a resource: how a session's engagement is scored."""

import dagster as dg
import pydantic

from customer_analytics.defs.web.rules import DEFAULT_WEIGHTS, parse_weights
from customer_analytics.settings import ConfigurationError


class EngagementWeights(dg.ConfigurableResource):
    """Points each event type adds to a session's engagement score (WEB_EVENT_WEIGHTS)."""

    weights: dict[str, float] = pydantic.Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    @classmethod
    def from_setting(cls, raw: str) -> "EngagementWeights":
        """From WEB_EVENT_WEIGHTS (`view=1,click=2.5`); a value it cannot be stops the code
        location from loading, naming the variable."""
        try:
            return cls(weights=parse_weights(raw))
        except ValueError as error:
            raise ConfigurationError(
                f"WEB_EVENT_WEIGHTS={raw!r}: {error} (expected e.g. view=1,click=2)"
            ) from None
