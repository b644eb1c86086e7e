"""协议条款: union clauses in partner agreements and the platform rules register (rules/)."""
