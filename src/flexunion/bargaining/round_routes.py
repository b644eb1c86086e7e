"""协商轮次 Negotiation rounds and promised data."""

from __future__ import annotations

ROUTES: list = []
