"""Analytics: intelligence made from what the constellation observes (AIS today; SAR ships next)."""

__all__: list[str] = []
