"""Retention of the special-category details: the `assistance-purge` job's work."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.config import AssistanceSettings
from flexunion.services.assistance import repository
from flexunion.services.assistance.service import policy

# ---- retention ---------------------------------------------------------------------------------


async def purge_details(session: AsyncSession, now: datetime, *, federation_id: uuid.UUID,
                        defaults: AssistanceSettings) -> int:
    """The `assistance-purge` job: the details of cases closed more than `retention_days` ago
    are deleted, the case stamped `details_purged_at`, each purge audited. Idempotent."""
    rules = await policy(session, federation_id, defaults)
    due = list(await repository.purgeable(session, now - timedelta(days=rules.retention_days)))
    if not due:
        return 0
    await repository.delete_details(session, [c.id for c in due])
    for case in due:
        case.details_purged_at = now
        await audit.record(session, "assistance.details_purged", tenant_id=case.tenant_id,
                           object_type="assistance_case", object_id=case.id,
                           payload={"closed_at": case.closed_at.isoformat()
                                    if case.closed_at else None,
                                    "retention_days": rules.retention_days})
    await repository.flush(session)
    return len(due)
