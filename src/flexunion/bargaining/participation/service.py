"""流动议事 participation grants' rules.

A grant lets an active member see and support (附议) the agenda board of a region other than
their home, where they work, until it expires or is revoked; row-level security does the
rest (0037: the board's read policies gain an arm for `flexunion_member_granted()`, and a
support needs a visible item). One unrevoked grant per member and region.

- Automatic (`grant_due`, the daily `participation` job, one run per federation): members
  with ≥ K check-ins in the last D days whose jurisdiction lies in another region, or with an
  open case handled there, get a grant for E days, renewed on each run while the evidence
  holds; without renewal it lapses. The cases domain sits above bargaining and the job reads
  no cases or check-ins under RLS, so the evidence comes from an owner-owned function
  (`flexunion_participation_candidates`) that answers only the job's principal. A grant
  revoked by hand is not re-granted by the job within the evidence window.
- Manual (`grant`): an HQ or regional admin, for a regional union in their own subtree, with
  a note; revocable (`revoke`) by the same admins. Every grant, renewal and revocation is
  audited (`participation.granted`, `participation.renewed`, `participation.revoked`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.participation import repository
from flexunion.bargaining.participation.models import ParticipationGrant
from flexunion.bargaining.participation.schemas import GrantCreate
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory

JOB_PRINCIPAL = "system:jobs:participation"


class GrantNotFound(NotFound):
    code, title, title_en = ("participation_grant_not_found", "未找到该参与授权",
                             "Participation grant not found")


async def codes(session: AsyncSession, caller: Caller) -> dict[uuid.UUID, str]:
    return {e.id: e.code for e in (await directory.my_directory(session, caller)).values()}


async def mine(session: AsyncSession, caller: Caller) -> Sequence[ParticipationGrant]:
    """The calling worker's grants, newest first (RLS: only its own)."""
    return await repository.of_worker(session, uuid.UUID(caller.subject))


async def listed(session: AsyncSession, caller: Caller, *, region: str | None,
                 active_at: datetime | None, limit: int) -> Sequence[ParticipationGrant]:
    region_id = (await _region(session, caller, region)).id if region else None
    return await repository.listed(session, region=region_id, active_at=active_at, limit=limit)


async def _region(session: AsyncSession, caller: Caller, code: str) -> directory.DirectoryEntry:
    entry = (await directory.my_directory(session, caller)).get(code)
    if entry is None or entry.kind != "regional":
        raise InvalidInput(f"{code} 不是区域工会。", f"'{code}' is not a regional union.",
                           code="unknown_region")
    return entry


async def _audit(session: AsyncSession, action: str, grant: ParticipationGrant,
                 **payload: Any) -> None:
    await audit.record(session, action, tenant_id=grant.tenant_id,
                       object_type="participation_grant", object_id=grant.id,
                       payload={"member_id": str(grant.member_id), "reason": grant.reason,
                                "expires_at": grant.expires_at.isoformat(), **payload})


async def _put(session: AsyncSession, *, federation_id: uuid.UUID, member_id: uuid.UUID,
               worker_id: uuid.UUID, home: uuid.UUID, region: uuid.UUID, reason: str,
               evidence: dict[str, Any], note: str | None, actor: str, now: datetime,
               expires_at: datetime) -> tuple[ParticipationGrant, str]:
    """Grant, or renew the unrevoked grant (an expired one starts again), audited."""
    grant = await repository.open_grant(session, member_id, region)
    if grant is None:
        grant = ParticipationGrant(
            id=uuid.uuid4(), federation_id=federation_id, tenant_id=region,
            member_id=member_id, worker_id=worker_id, home_tenant_id=home, reason=reason,
            evidence=evidence, note=note, granted_by=actor, granted_at=now, renewed_at=None,
            expires_at=expires_at, revoked_at=None, revoked_by=None, revoke_reason=None)
        repository.add(session, grant)
        action = "participation.granted"
    else:
        if grant.expires_at <= now:
            grant.granted_at, grant.renewed_at = now, None
            action = "participation.granted"
        else:
            grant.renewed_at = now
            action = "participation.renewed"
        grant.reason, grant.evidence, grant.note, grant.granted_by = reason, evidence, note, actor
        grant.expires_at = max(grant.expires_at, expires_at)
    await repository.flush(session)
    await _audit(session, action, grant, evidence=evidence, granted_by=actor)
    return grant, action


async def grant(session: AsyncSession, caller: Caller, data: GrantCreate, *, now: datetime,
                default_days: int) -> ParticipationGrant:
    """手工授权 by an HQ or regional admin for a regional union in their own subtree."""
    region = await _region(session, caller, data.region)
    if not await rls.in_scope(session, region.id):
        raise Forbidden("只能为本级或下级区域工会授权。",
                        "You may only grant participation in your own union's regions.",
                        code="scope_not_yours", extra={"region": region.code})
    found = await repository.member_home(session, data.member_id)
    home = found[1] if found else None
    if found is None or home is None:
        raise NotFound("没有这个正常会员。", "No such active member.",
                       code="member_not_found", extra={"member_id": str(data.member_id)})
    worker_id = found[0]
    if home == region.id:
        raise Conflict("该会员本就属于这个区域工会。", "That region is already the member's home.",
                       code="participation_home_region", extra={"region": region.code})
    days = data.days or default_days
    federation_id = await directory.federation_of(session, caller)
    row, _ = await _put(session, federation_id=federation_id, member_id=data.member_id,
                        worker_id=worker_id, home=home, region=region.id, reason="manual",
                        evidence={"days": days}, note=data.note.strip(),
                        actor=await rls.principal(session), now=now,
                        expires_at=now + timedelta(days=days))
    return row


async def revoke(session: AsyncSession, grant_id: uuid.UUID, *, reason: str,
                 now: datetime) -> ParticipationGrant:
    """撤销 (admins of the granted region's subtree; 404 for a grant not theirs to change)."""
    row = await repository.get(session, grant_id, lock=True)
    if row is None:
        raise GrantNotFound("没有这个参与授权，或不归你修改。",
                            "No such participation grant, or not yours to change.")
    if row.revoked_at is not None:
        raise Conflict("该授权已撤销。", "The grant is already revoked.",
                       code="participation_revoked")
    row.revoked_at, row.revoked_by = now, await rls.principal(session)
    row.revoke_reason = reason.strip()
    await repository.flush(session)
    await _audit(session, "participation.revoked", row, revoke_reason=row.revoke_reason)
    return row


async def grant_due(session: AsyncSession, now: datetime, *, federation_id: uuid.UUID,
                    min_checkins: int, window_days: int, expire_days: int) -> int:
    """The job (principal `system:jobs:participation`): grant or renew from the evidence;
    how many grants were written."""
    since = now - timedelta(days=window_days)
    best: dict[tuple[uuid.UUID, uuid.UUID], repository.Candidate] = {}
    for c in await repository.candidates(session, since=since, min_checkins=min_checkins):
        seen = best.get((c.member_id, c.region))
        if seen is None or (seen.reason == "case" and c.reason == "checkins"):
            best[(c.member_id, c.region)] = c  # check-ins are the stronger evidence
    written = 0
    for (member_id, region), c in sorted(best.items()):
        if await repository.revoked_since(session, member_id, region, since):
            continue
        evidence: dict[str, Any] = ({"checkins": c.checkins, "days": window_days}
                                    if c.reason == "checkins" else {"case_id": str(c.case_id)})
        await _put(session, federation_id=federation_id, member_id=member_id,
                   worker_id=c.worker_id, home=c.home_region, region=region, reason=c.reason,
                   evidence=evidence, note=None, actor=JOB_PRINCIPAL, now=now,
                   expires_at=now + timedelta(days=expire_days))
        written += 1
    return written
