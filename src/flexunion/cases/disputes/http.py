"""The 发函 letter as a download: the stored PDF bytes, with their sha256 in `Digest` (the API's
and the console's downloads answer the same)."""

from __future__ import annotations

from typing import Any

from litestar.response import Stream

from flexunion.bargaining.evidence.files import content_disposition
from flexunion.bargaining.evidence.store import EvidenceStore


async def letter_download(store: EvidenceStore, pdf: dict[str, Any]) -> Stream:
    return Stream(await store.stream(pdf["storage_key"]), media_type="application/pdf",
                  headers={"Content-Disposition":
                           content_disposition(f"工会函-{pdf['case_no']}.pdf"),
                           "Content-Length": str(pdf["size_bytes"]),
                           "X-Content-Type-Options": "nosniff",
                           "Digest": f"sha-256={pdf['sha256']}",
                           "Cache-Control": "private, no-store"})
