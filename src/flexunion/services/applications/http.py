"""A material file as a download, for the API routes and the console alike: the type it was
stored as, the name RFC 5987-encoded, the bytes streamed from the evidence store."""

from __future__ import annotations

from litestar.response import Stream

from flexunion.bargaining.evidence.files import content_disposition
from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.core.http import downloads
from flexunion.services.applications.models import ServiceMaterial

DOWNLOAD = downloads("application/pdf", "image/png", "image/jpeg", "text/plain",
                     description="The material file, as stored")


async def download(store: EvidenceStore, row: ServiceMaterial) -> Stream:
    return Stream(await store.stream(row.storage_key), media_type=row.content_type.split(";")[0],
                  headers={"Content-Disposition": content_disposition(row.filename),
                           "Content-Length": str(row.size_bytes),
                           "X-Content-Type-Options": "nosniff",
                           "Digest": f"sha-256={row.sha256}", "Cache-Control": "private, no-store"})
