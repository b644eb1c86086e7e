"""表决 Ratification ballots."""

from __future__ import annotations

ROUTES: list = []
