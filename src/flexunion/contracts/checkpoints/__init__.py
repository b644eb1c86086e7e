"""核验节点: checkpoints of the clauses in force, the partner's evidence and its evaluation,
the three-party sign-off and objections (docs/contracts.md)."""
