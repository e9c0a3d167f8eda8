"""The web domain's resources from their settings."""

import pytest

from customer_analytics.defs.web.resources import EngagementWeights
from customer_analytics.settings import ConfigurationError


def test_weights_that_would_sum_to_infinity_are_refused_by_name():
    """Two events of 1e308 make a session's score inf (1e308 + 1e308 overflows a DOUBLE)."""
    with pytest.raises(ConfigurationError) as raised:
        EngagementWeights.from_setting("view=1e308,scroll=1e308")
    assert str(raised.value) == (
        "WEB_EVENT_WEIGHTS='view=1e308,scroll=1e308': view='1e308': expected a number of at "
        "least 0 and at most 1000 (expected e.g. view=1,click=2)"
    )
