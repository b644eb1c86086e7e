"""协商清单管理 Staff side of the agenda board."""

from __future__ import annotations

ROUTES: list = []
