"""The HQ's policy library (政策库) for 政策释明, and the hotline platforms allowed to push work
orders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.policies import repository
from flexunion.cases.policies.models import CaseIntakePartner, CasePolicy
from flexunion.cases.policies.schemas import PolicyCreate, PolicyUpdate
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, Forbidden, NotFound
from flexunion.federation import directory


def _hq_only(caller: Caller) -> None:
    if caller.role is not Role.HQ_ADMIN:
        raise Forbidden("政策库与工单平台由总部维护。",
                        "The HQ keeps the policy library and the hotline platforms.",
                        code="hq_only")


async def policies(session: AsyncSession, caller: Caller) -> Sequence[CasePolicy]:
    return await repository.policies(session, await directory.federation_of(session, caller))


async def create_policy(session: AsyncSession, caller: Caller, data: PolicyCreate, *,
                        now: datetime) -> CasePolicy:
    _hq_only(caller)
    fed = await directory.federation_of(session, caller)
    row = CasePolicy(id=uuid.uuid4(), federation_id=fed, tenant_id=fed, code=data.code,
                     title_zh=data.title_zh, title_en=data.title_en, source=data.source,
                     body=data.body, url=data.url, active=True, created_by=caller.principal,
                     created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            repository.add(session, row)
            await repository.flush(session)
    except IntegrityError as exc:
        raise Conflict(f"政策编码 {data.code} 已存在。", f"Policy '{data.code}' exists.",
                       code="policy_code_taken") from exc
    await audit.record(session, "case_policy.created", tenant_id=fed, object_type="case_policy",
                       object_id=row.id, payload={"code": row.code})
    return row


async def update_policy(session: AsyncSession, caller: Caller, code: str, data: PolicyUpdate,
                        *, now: datetime) -> CasePolicy:
    _hq_only(caller)
    fed = await directory.federation_of(session, caller)
    row = await repository.policy(session, fed, code, lock=True)
    if row is None:
        raise NotFound("政策库中没有该政策。", "No such policy.", code="policy_not_found")
    changed = {k: v for k, v in ((f, getattr(data, f)) for f in
                                 ("title_zh", "title_en", "source", "body", "url", "active"))
               if v is not None}
    for field, value in changed.items():
        setattr(row, field, value)
    row.updated_at = now
    await repository.flush(session)
    await audit.record(session, "case_policy.updated", tenant_id=fed, object_type="case_policy",
                       object_id=row.id, payload={"code": code, "fields": sorted(changed)})
    return row


async def add_intake_partner(session: AsyncSession, caller: Caller, partner_code: str, *,
                             now: datetime) -> CaseIntakePartner:
    """登记 12351 工单平台: the partner's clients may push work orders."""
    _hq_only(caller)
    fed = await directory.federation_of(session, caller)
    partner = await directory.partner_by_code(session, fed, partner_code)
    found = await repository.intake_partner(session, partner.id, "hotline")
    if found is not None:
        return found
    row = CaseIntakePartner(id=uuid.uuid4(), federation_id=fed, tenant_id=fed,
                            partner_id=partner.id, kind="hotline", created_by=caller.principal,
                            created_at=now)
    repository.add(session, row)
    await repository.flush(session)
    await audit.record(session, "case_intake_partner.added", tenant_id=fed,
                       object_type="case_intake_partner", object_id=row.id,
                       payload={"partner": partner_code, "kind": "hotline"})
    return row
