"""核验材料附件: files the partner attaches to a checkpoint's evidence, through the evidence
store (bargaining/evidence/store.py) as a case's evidence goes (cases/attachments): the size
cap, not empty, the type sniffed from the bytes (`filetype`, the allowed list of
bargaining/evidence/files.py), the sha256 of the bytes; the bytes go first, the row after,
and the bytes again if the row fails. Idempotent by the route's Idempotency-Key.

A file belongs to the checkpoint until evidence is signed (then the evidence is final: 409
`checkpoint_evidence_signed`, as for JSON); each submission of JSON evidence records the
files attached by then (`checkpoint_evidence.files`), so the evaluation — and the breach
case made from it — names the files, by sha256, it was made on."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.evidence.schemas import Upload
from flexunion.bargaining.evidence.service import AttachmentNotFound, put_checked
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.contracts.checkpoints import repository
from flexunion.contracts.checkpoints.models import CheckpointEvidenceFile, ClauseCheckpoint
from flexunion.core.errors import Conflict
from flexunion.db import rls


def summary(row: CheckpointEvidenceFile) -> dict[str, Any]:
    """What an evaluation and a case keep of a file."""
    return {"id": str(row.id), "filename": row.filename, "content_type": row.content_type,
            "size_bytes": row.size_bytes, "sha256": row.sha256}


async def attach(session: AsyncSession, store: EvidenceStore, cp: ClauseCheckpoint,
                 upload: Upload, *, max_bytes: int, signed: bool, superseded: bool,
                 now: datetime) -> CheckpointEvidenceFile:
    if signed:
        raise Conflict("核验材料已有签署，不能再附加文件。",
                       "The evidence has been signed; no more files for this checkpoint.",
                       code="checkpoint_evidence_signed")
    if superseded:
        raise Conflict("该核验节点的条款已被续签取代，不再提交材料。",
                       "The checkpoint's clause was superseded by a renewal; no evidence is "
                       "owed.", code="checkpoint_superseded")
    filename, content_type, key = await put_checked(store, upload, max_bytes=max_bytes)
    row = CheckpointEvidenceFile(
        id=uuid.uuid4(), federation_id=cp.federation_id, tenant_id=cp.tenant_id,
        partner_id=cp.partner_id, checkpoint_id=cp.id, storage_key=key, filename=filename,
        content_type=content_type, size_bytes=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
        uploaded_by=await rls.principal(session), created_at=now)
    try:
        repository.add(session, row)
        await repository.flush(session)
        await audit.record(session, "contracts.evidence_file_added", tenant_id=cp.tenant_id,
                           object_type="clause_checkpoint", object_id=cp.id,
                           payload={"file_id": str(row.id), "sha256": row.sha256,
                                    "content_type": content_type,
                                    "size_bytes": row.size_bytes,
                                    "declared_type": upload.declared_type})
    except BaseException:
        await store.delete(key)
        raise
    return row


async def listed(session: AsyncSession, ids: Sequence[uuid.UUID],
                 ) -> dict[uuid.UUID, list[CheckpointEvidenceFile]]:
    out: dict[uuid.UUID, list[CheckpointEvidenceFile]] = {i: [] for i in ids}
    for f in await repository.files(session, ids):
        out[f.checkpoint_id].append(f)
    return out


async def one(session: AsyncSession, cp: ClauseCheckpoint,
              file_id: uuid.UUID) -> CheckpointEvidenceFile:
    row = await repository.file(session, file_id)
    if row is None or row.checkpoint_id != cp.id:
        raise AttachmentNotFound("没有这个附件。", "No such attachment.")
    return row
