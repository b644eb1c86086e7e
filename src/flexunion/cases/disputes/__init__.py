"""争议处置 Disputes: a case kind with its own rules — fixed evidence, the ladder, hand-over."""
