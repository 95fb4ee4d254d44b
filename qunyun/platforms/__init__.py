"""Chat platforms: the only place that knows their wire formats."""
