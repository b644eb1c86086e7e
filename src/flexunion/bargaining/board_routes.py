"""会员看板与附议 The board as members see it, and support."""

from __future__ import annotations

ROUTES: list = []
