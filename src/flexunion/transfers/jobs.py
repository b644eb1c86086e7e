"""Scheduled work for transfers. `flexunion transfers auto-release` runs `auto_release` as the
owner (an operator command); schedule it every 15 minutes (see helm/flexunion/README.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.transfers import repository as repo
from flexunion.transfers import service
from flexunion.transfers.models import Transfer

PRINCIPAL = "system:auto-release"


async def auto_release(
    session: AsyncSession, now: datetime, *, federation_id: uuid.UUID | None = None
) -> Sequence[Transfer]:
    """Release every requested transfer whose origin let the deadline (N working days) pass.

    `session` is an owner session whose principal names the system (PRINCIPAL): the audit
    rows are written as that principal. Rows another run holds are skipped, so two runs at
    once never release one transfer twice. The caller commits."""
    due = await repo.due_for_release(session, now, federation_id)
    for transfer in due:
        await service.mark_released(session, transfer, now=now, auto=True)
    return due
