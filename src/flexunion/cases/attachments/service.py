"""Evidence on a case (bytes in the evidence store, rows in `case_attachments`)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.service import AttachmentNotFound, put_checked
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.cases.attachments import repository
from flexunion.cases.attachments.models import CaseAttachment
from flexunion.cases.ledger.models import Case
from flexunion.cases.ledger.service import record
from flexunion.db import rls

# ---- evidence -----------------------------------------------------------------------------


async def attach(session: AsyncSession, store: EvidenceStore, case: Case, upload: Upload, *,
                 max_bytes: int, now: datetime) -> CaseAttachment:
    """证据: bytes to the store first, then the row; the bytes go again if the row fails."""
    filename, content_type, key = await put_checked(store, upload, max_bytes=max_bytes)
    actor = await rls.principal(session)
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
