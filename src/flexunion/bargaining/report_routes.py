"""问题提报与代表 Worker reports, representatives and their proposals."""

from __future__ import annotations

ROUTES: list = []
