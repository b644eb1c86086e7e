"""证据附件 Evidence attachments."""

from __future__ import annotations

ROUTES: list = []
