"""争议 list: the disputes in the caller's sight (row-level security: the handling union and
those above it, the origin of a moved case), newest opened first, filtered by kind, by rung
and by what the platform still owes past its deadline — its written reasons on an
algorithmic decision, or evidence requested from it (docs/disputes.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.disputes import codes, repository
from flexunion.cases.disputes.models import CaseDispute
from flexunion.cases.disputes.schemas import DisputeListRead, kind_label, step_label
from flexunion.core.pagination import time_key
from flexunion.federation import directory


async def listed(session: AsyncSession, *, kind: str | None, step: str | None, overdue: bool,
                 after: tuple[datetime, uuid.UUID] | None, limit: int,
                 now: datetime) -> Sequence[CaseDispute]:
    """`limit` rows past the cursor (ask for a page's size + 1)."""
    return await repository.listed(session, kind=kind, step=step,
                                   overdue_at=now if overdue else None, after=after,
                                   limit=limit)


def list_key(row: CaseDispute) -> tuple[str, uuid.UUID]:
    return time_key(row.opened_at, row.id)


async def reads(session: AsyncSession, rows: Sequence[CaseDispute], *,
                now: datetime) -> list[DisputeListRead]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    decisions = {d.dispute_id: d for d in await repository.decisions_of(session, ids)}
    open_requests: dict[uuid.UUID, list[datetime]] = {}
    for req in await repository.open_requests_of(session, ids):
        open_requests.setdefault(req.dispute_id, []).append(req.due_at)
    federation = rows[0].federation_id
    units = {e.id: e.code for e in (await directory.directory(session, federation)).values()}
    partners = await directory.partner_codes(session, federation)
    shown = []
    for r in rows:
        d = decisions.get(r.id)
        dues = open_requests.get(r.id, [])
        shown.append(DisputeListRead(
            id=r.id, case_id=r.case_id, case_no=r.case_no, kind=kind_label(r.kind),
            partner=partners.get(r.partner_id, "?"), handling_unit=units.get(r.tenant_id, "?"),
            step=step_label(r.step), next_step=step_label(codes.next_step(r.step)),
            opened_at=r.opened_at.isoformat(), updated_at=r.updated_at.isoformat(),
            reply_due_at=d.reply_due_at.isoformat() if d else None,
            reply_overdue=d is not None and d.reasons_at is None and now > d.reply_due_at,
            requests_open=len(dues), requests_overdue=sum(1 for due in dues if due < now)))
    return shown
