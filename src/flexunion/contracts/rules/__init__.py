"""劳动规则与算法公示: the platform rules register (docs/platform-rules.md)."""
