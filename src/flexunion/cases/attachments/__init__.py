"""诉求证据 Evidence on a case."""
