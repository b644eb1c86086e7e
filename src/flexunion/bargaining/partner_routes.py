"""平台方接口 What a platform partner sees and answers."""

from __future__ import annotations

ROUTES: list = []
