"""月度复盘 The monthly review of the services (docs/services.md)."""
