"""协议条款: union clauses in partner agreements (docs/contracts.md) and the platform rules
register (rules/, docs/platform-rules.md)."""
