"""The transforms of the asset graph. Each engine runs the rules of `customer_analytics.rules`."""
