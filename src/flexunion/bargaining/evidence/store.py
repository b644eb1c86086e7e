"""Where evidence bytes live: a small interface, with the filesystem as the default.

Rows in `agenda_attachments` and `case_attachments` (and row-level security) say who may
see a file; the store only keeps bytes under opaque keys. Another backend (S3/OSS/MinIO)
implements the same four methods (`stream` is what a download sends, chunk by chunk). The
app makes one store at start-up (`app.state.attachments`) and handlers ask for it by name
(`attachments`)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol, runtime_checkable

CHUNK = 64 * 1024


@runtime_checkable
class EvidenceStore(Protocol):
    async def put(self, data: bytes, *, suffix: str) -> str: ...
    async def get(self, key: str) -> bytes: ...
    async def stream(self, key: str) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None: ...


class FilesystemStore:
    """Files under `root`, two-level fan-out by key; written atomically (tmp + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError(f"bad storage key {key!r}")
        return self.root / key[:2] / key

    async def put(self, data: bytes, *, suffix: str) -> str:
        key = secrets.token_hex(16) + suffix
        await asyncio.to_thread(self._write, self._path(key), data)
        return key

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        """The file in chunks of CHUNK bytes. Opened here, before the first chunk, so a
        missing key fails before a response has started."""
        handle = await asyncio.to_thread(self._path(key).open, "rb")

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(handle.read, CHUNK):
                    yield chunk
            finally:
                handle.close()
        return chunks()

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(lambda: path.unlink(missing_ok=True))
