"""The HQ's policy library (政策库) for 政策释明, the hotline platforms allowed to push work
orders, and evidence on a case (bytes in the evidence store, rows in `case_attachments`)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.evidence.files import clean_filename, sniff
from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.service import AttachmentNotFound, AttachmentTooLarge
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.cases import repository
from flexunion.cases.models import Case, CaseAttachment, CaseIntakePartner, CasePolicy
from flexunion.cases.schemas import PolicyCreate, PolicyUpdate
from flexunion.cases.service import record
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
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


# ---- evidence -----------------------------------------------------------------------------


async def attach(session: AsyncSession, store: EvidenceStore, case: Case, upload: Upload, *,
                 max_bytes: int, now: datetime) -> CaseAttachment:
    """证据: bytes to the store first, then the row; the bytes go again if the row fails."""
    if len(upload.data) > max_bytes:
        raise AttachmentTooLarge(f"附件最大 {max_bytes} 字节。",
                                 f"An attachment may be at most {max_bytes} bytes.",
                                 extra={"max_bytes": max_bytes, "size_bytes": len(upload.data)})
    if not upload.data:
        raise InvalidInput("文件是空的。", "The file is empty.", code="attachment_empty")
    filename = clean_filename(upload.filename)
    content_type, suffix = sniff(upload.data, filename)
    actor = await rls.principal(session)
    key = await store.put(upload.data, suffix=suffix)
    row = CaseAttachment(id=uuid.uuid4(), federation_id=case.federation_id,
                         tenant_id=case.tenant_id, case_id=case.id, storage_key=key,
                         filename=filename, content_type=content_type,
                         size_bytes=len(upload.data),
                         sha256=hashlib.sha256(upload.data).hexdigest(), uploaded_by=actor,
                         created_at=now)
    try:
        repository.add(session, row)
        await repository.flush(session)
        await record(session, case, "evidence", now=now,
                     details={"attachment_id": str(row.id), "sha256": row.sha256})
        await audit.record(session, "case.attachment_added", tenant_id=case.tenant_id,
                           object_type="case", object_id=case.id,
                           payload={"attachment_id": str(row.id), "sha256": row.sha256,
                                    "content_type": content_type})
    except BaseException:
        await store.delete(key)
        raise
    return row


async def attachments(session: AsyncSession, case: Case) -> Sequence[CaseAttachment]:
    return await repository.attachments(session, case.id)


async def attachment(session: AsyncSession, case: Case,
                     attachment_id: uuid.UUID) -> CaseAttachment:
    row = await repository.attachment(session, attachment_id)
    if row is None or row.case_id != case.id:
        raise AttachmentNotFound("没有这个附件。", "No such attachment.")
    return row
