"""固定证据: a dispute's evidence — a case attachment filed under a checklist slot, a request
to the platform for a slot with a working-day deadline, and the platform's file answering it
(docs/disputes.md). Each write is one transaction with its audit entry."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.evidence.files import clean_filename, sniff
from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.service import AttachmentTooLarge
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.calendars import service as calendars
from flexunion.cases.attachments import service as files
from flexunion.cases.attachments.models import CaseAttachment
from flexunion.cases.disputes import codes, repository
from flexunion.cases.disputes.models import CaseDispute, DisputeEvidence, DisputeRequest
from flexunion.cases.disputes.schemas import EvidenceLink, RequestCreate
from flexunion.cases.disputes.service import (
    DisputeRequestNotFound,
    ended,
    locked,
    partner_dispute,
)
from flexunion.core.errors import Conflict, InvalidInput
from flexunion.db import rls


def _in_checklist(row: CaseDispute, slot: str) -> None:
    if slot not in codes.CHECKLISTS[row.kind].slots:
        zh, en = codes.SLOTS[slot]
        kzh, ken = codes.KINDS[row.kind]
        raise InvalidInput(f"“{zh}”不在“{kzh}”争议的证据清单中。",
                           f"'{en}' is not on the evidence checklist of a '{ken}' dispute.",
                           code="slot_not_in_checklist",
                           extra={"slot": slot,
                                  "checklist": list(codes.CHECKLISTS[row.kind].slots)})


async def link_evidence(session: AsyncSession, case_id: uuid.UUID, data: EvidenceLink, *,
                        now: datetime) -> CaseDispute:
    """File a case attachment (the worker's or a cadre's upload) under a slot."""
    case, row = await locked(session, case_id)
    _in_checklist(row, data.slot)
    found = next((a for a in await files.attachments(session, case)
                  if a.id == data.attachment_id), None)
    supplier = None if found is None else (
        "worker" if found.uploaded_by.startswith("worker:") else
        None if found.uploaded_by.startswith("partner:") else "cadre")
    if found is None or supplier is None:
        raise InvalidInput("这条诉求没有这个附件（平台提供的证据随调取请求自动归档）。",
                           "The case has no such attachment (a platform's evidence is filed "
                           "with its request).", code="unknown_attachment",
                           extra={"attachment_id": str(data.attachment_id)})
    if any(e.slot == data.slot and e.attachment_id == found.id
           for e in await repository.evidence(session, row.id)):
        raise Conflict("该附件已归入这一证据项。", "The attachment is already filed under "
                       "this slot.", code="evidence_already_linked")
    actor = await rls.principal(session)
    item = DisputeEvidence(id=uuid.uuid4(), federation_id=row.federation_id,
                           tenant_id=row.tenant_id, dispute_id=row.id, slot=data.slot,
                           attachment_id=found.id, sha256=found.sha256, supplier=supplier,
                           supplied_by=found.uploaded_by, supplied_at=found.created_at,
                           request_id=None, linked_by=actor, linked_at=now)
    repository.add(session, item)
    row.updated_at = now
    await repository.flush(session)
    await audit.record(session, "dispute.evidence_linked", tenant_id=row.tenant_id,
                       object_type="dispute", object_id=row.id,
                       payload={"slot": data.slot, "attachment_id": str(found.id),
                                "sha256": found.sha256, "supplier": supplier})
    return row


async def request_evidence(session: AsyncSession, case_id: uuid.UUID, data: RequestCreate, *,
                           now: datetime) -> CaseDispute:
    """调取证据: ask the platform for a slot within N working days on the case's calendar."""
    _, row = await locked(session, case_id)
    _in_checklist(row, data.slot)
    if row.step == codes.LADDER[-1]:
        raise ended()
    due = await calendars.deadline_after(session, row.tenant_id, now, data.days)
    req = DisputeRequest(id=uuid.uuid4(), federation_id=row.federation_id,
                         tenant_id=row.tenant_id, dispute_id=row.id, slot=data.slot,
                         partner_id=row.partner_id, note=data.note, due_at=due.at,
                         requested_by=await rls.principal(session), requested_at=now)
    repository.add(session, req)
    row.updated_at = now
    await repository.flush(session)
    await audit.record(session, "dispute.evidence_requested", tenant_id=row.tenant_id,
                       object_type="dispute", object_id=row.id,
                       payload={"request_id": str(req.id), "slot": data.slot,
                                "days": data.days, "due_at": due.at.isoformat()})
    return row


async def fulfil_request(session: AsyncSession, store: EvidenceStore, case_id: uuid.UUID,
                         request_id: uuid.UUID, upload: Upload, *, max_bytes: int,
                         now: datetime) -> CaseDispute:
    """The platform sends the requested file: a case attachment (its sha256 kept) filed under
    the request's slot, the request fulfilled — once."""
    row = await partner_dispute(session, case_id)
    req = await repository.request(session, request_id)
    if req is None or req.dispute_id != row.id:
        raise DisputeRequestNotFound("没有这个证据调取请求。", "No such evidence request.")
    fulfilled = Conflict("该调取请求已提供过证据。", "The request was fulfilled already.",
                         code="dispute_request_fulfilled")
    if req.fulfilled_at is not None:
        raise fulfilled
    # Locked through the partner's UPDATE arm (unfulfilled requests only): one that another
    # upload fulfilled meanwhile is no longer there to lock.
    locked = await repository.request(session, request_id, lock=True)
    if locked is None:
        raise fulfilled
    if len(upload.data) > max_bytes:
        raise AttachmentTooLarge(f"附件最大 {max_bytes} 字节。",
                                 f"An attachment may be at most {max_bytes} bytes.",
                                 extra={"max_bytes": max_bytes, "size_bytes": len(upload.data)})
    if not upload.data:
        raise InvalidInput("文件是空的。", "The file is empty.", code="attachment_empty")
    filename = clean_filename(upload.filename)
    content_type, suffix = sniff(upload.data, filename)
    actor = await rls.principal(session)
    sha256 = hashlib.sha256(upload.data).hexdigest()
    key = await store.put(upload.data, suffix=suffix)
    try:
        attachment = CaseAttachment(
            id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
            case_id=row.case_id, storage_key=key, filename=filename,
            content_type=content_type, size_bytes=len(upload.data), sha256=sha256,
            uploaded_by=actor, created_at=now)
        repository.add(session, attachment)
        await repository.flush(session)
        repository.add(session, DisputeEvidence(
            id=uuid.uuid4(), federation_id=row.federation_id, tenant_id=row.tenant_id,
            dispute_id=row.id, slot=locked.slot, attachment_id=attachment.id, sha256=sha256,
            supplier="partner", supplied_by=actor, supplied_at=now, request_id=locked.id,
            linked_by=actor, linked_at=now))
        locked.fulfilled_at, locked.fulfilled_by = now, actor
        await repository.flush(session)
        await audit.record(session, "dispute.evidence_supplied", tenant_id=row.tenant_id,
                           object_type="dispute", object_id=row.id,
                           payload={"request_id": str(locked.id), "slot": locked.slot,
                                    "attachment_id": str(attachment.id), "sha256": sha256})
    except BaseException:
        await store.delete(key)
        raise
    return row


# ---- the ladder ------------------------------------------------------------------------------
