"""The service secret and what is derived from it: keyed hashes and sealed blobs.

One master secret (FLEXUNION_SECRET_KEY, or a 0600 file in the data dir that
is created on first start) is split with HKDF into independent subkeys, so a
phone-number hash key is never also an encryption key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from flexunion.config import Settings


def load_master_secret(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        # Written whole to a private temp file, then linked into place: two processes
        # starting together agree on one secret and never read a half-written file.
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".secret.key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


class Keyring:
    def __init__(self, master: bytes) -> None:
        self._master = master

    @lru_cache(maxsize=16)  # noqa: B019 - a handful of purposes, one keyring per process
    def subkey(self, purpose: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"flexunion", info=purpose.encode()
        ).derive(self._master)

    def keyed_hash(self, purpose: str, value: str) -> str:
        """Deterministic, keyed: for de-duplication and lookup without storing the value."""
        return hmac.new(self.subkey(purpose), value.encode(), hashlib.sha256).hexdigest()

    def seal(self, purpose: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self.subkey(purpose)).encrypt(nonce, plaintext, purpose.encode())

    def open(self, purpose: str, sealed: bytes) -> bytes:
        return AESGCM(self.subkey(purpose)).decrypt(sealed[:12], sealed[12:], purpose.encode())
