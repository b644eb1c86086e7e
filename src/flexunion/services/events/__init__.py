"""Facts pushed by platform partners and official weather warnings (docs/services.md)."""
