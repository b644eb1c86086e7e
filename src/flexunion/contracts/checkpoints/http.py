"""A checkpoint's evidence file as a download, for the API routes and the console alike: the
type it was stored as (sniffed at upload), the name RFC 5987-encoded, the bytes streamed
from the evidence store (as cases/attachments/http.py sends a case's evidence)."""

from __future__ import annotations

from litestar.response import Stream

from flexunion.bargaining.evidence.files import ALLOWED, TEXT_TYPES, content_disposition
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.contracts.checkpoints.models import CheckpointEvidenceFile
from flexunion.core.http import downloads

DOWNLOAD = downloads(*ALLOWED, *TEXT_TYPES.values(), description="The file, as stored")


async def download(store: EvidenceStore, row: CheckpointEvidenceFile) -> Stream:
    return Stream(await store.stream(row.storage_key), media_type=row.content_type.split(";")[0],
                  headers={"Content-Disposition": content_disposition(row.filename),
                           "Content-Length": str(row.size_bytes),
                           "X-Content-Type-Options": "nosniff",
                           "Digest": f"sha-256={row.sha256}",
                           "Cache-Control": "private, no-store"})
