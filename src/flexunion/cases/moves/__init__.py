"""跟随转会 Cases follow a transfer: the `case-follow-transfer` job (docs/cases.md)."""
