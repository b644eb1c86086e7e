"""Scheduled work for transfers. The worker runs `auto_release` every 5 minutes, once per
federation, as the app role under RLS with that federation's HQ as scope (the
`auto-release` job, principal `system:jobs:auto-release`: jobs/tasks.py, jobs/schedule.py).
`flexunion transfers auto-release` still runs it by hand, as the owner, for every federation
(principal PRINCIPAL)."""

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

    `session` names a system principal (the job's, or PRINCIPAL for the operator command):
    the audit rows are written as that principal. Rows another run holds are skipped, so two runs at
    once never release one transfer twice. The caller commits."""
    due = await repo.due_for_release(session, now, federation_id)
    for transfer in due:
        await service.mark_released(session, transfer, now=now, auto=True)
    return due
