"""需求清单 The ledger every part of a case writes into: the case, its events and
assignments, codes, lifecycle, and what each caller may read of a case."""
