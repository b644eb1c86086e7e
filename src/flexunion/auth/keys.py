"""Signing keys (Ed25519) with `kid` rotation, and the JWKS the world verifies against.

Private keys are stored sealed (AES-GCM under a subkey of the service secret).
Exactly one key is `active` (signs); `retired` keys stay in the JWKS so tokens
they signed verify until they expire; `revoked` keys are gone from both.
Rotation is an operator action (`flexunion keys rotate`, as the owner)."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.auth.models import SigningKey
from flexunion.core.secrets import Keyring

ALG = "EdDSA"
SEAL_PURPOSE = "signing-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(kid: str, public: Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": kid, "alg": ALG, "use": "sig"}


@dataclass(frozen=True, slots=True)
class LoadedKey:
    kid: str
    status: str
    public: Ed25519PublicKey
    jwk: dict[str, str]
    private: Ed25519PrivateKey | None


async def create_key(session: AsyncSession, keyring: Keyring, *, activate: bool) -> str:
    """Owner-only (the app role cannot write signing_keys)."""
    private = Ed25519PrivateKey.generate()
    kid = time.strftime("%Y%m%d") + "-" + secrets.token_hex(4)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if activate:
        await session.execute(
            update(SigningKey)
            .where(SigningKey.status == "active")
            .values(status="retired", retired_at=text("now()"))
        )
    session.add(
        SigningKey(
            kid=kid,
            alg=ALG,
            public_jwk=public_jwk(kid, private.public_key()),
            private_key_sealed=keyring.seal(SEAL_PURPOSE, pem),
            status="active" if activate else "retired",
        )
    )
    await session.flush()
    return kid


async def ensure_active_key(session: AsyncSession, keyring: Keyring) -> str:
    kid = await session.scalar(select(SigningKey.kid).where(SigningKey.status == "active"))
    return kid or await create_key(session, keyring, activate=True)


class KeyStore:
    """In-process cache of the keys; reloads on a timer and when an unknown kid shows up,
    so a rotation by one instance is picked up by every other one without a restart."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring,
        refresh_seconds: float = 60.0,
        forced_interval: float = 1.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._keyring = keyring
        self._refresh_seconds = refresh_seconds
        self._keys: dict[str, LoadedKey] = {}
        self._loaded_at = -refresh_seconds
        self._forced_at = -forced_interval
        self._forced_interval = forced_interval
        self._lock = asyncio.Lock()

    async def _load(self) -> None:
        async with self._sessionmaker() as session:
            rows = (
                await session.scalars(select(SigningKey).where(SigningKey.status != "revoked"))
            ).all()
        keys: dict[str, LoadedKey] = {}
        for row in rows:
            private = None
            if row.status == "active":
                pem = self._keyring.open(SEAL_PURPOSE, row.private_key_sealed)
                loaded = serialization.load_pem_private_key(pem, password=None)
                assert isinstance(loaded, Ed25519PrivateKey)
                private = loaded
            x = base64.urlsafe_b64decode(row.public_jwk["x"] + "==")
            keys[row.kid] = LoadedKey(
                row.kid, row.status, Ed25519PublicKey.from_public_bytes(x), row.public_jwk, private
            )
        self._keys = keys
        self._loaded_at = time.monotonic()

    async def refresh(self, *, force: bool = False) -> None:
        """Periodic reload; or, forced (an unknown kid was seen), at most once per
        `forced_interval` seconds, so forged kids cannot hammer the database."""
        now = time.monotonic()
        if force:
            if now - self._forced_at < self._forced_interval:
                return
        elif now - self._loaded_at < self._refresh_seconds:
            return
        async with self._lock:
            if force:
                if time.monotonic() - self._forced_at < self._forced_interval:
                    return
                self._forced_at = time.monotonic()
            elif time.monotonic() - self._loaded_at < self._refresh_seconds:
                return
            await self._load()

    async def reload(self) -> None:
        async with self._lock:
            await self._load()

    async def verification_key(self, kid: str) -> Ed25519PublicKey | None:
        await self.refresh()
        key = self._keys.get(kid)
        if key is None:
            await self.refresh(force=True)
            key = self._keys.get(kid)
        return key.public if key else None

    async def signing_key(self) -> LoadedKey:
        await self.refresh()
        for key in self._keys.values():
            if key.status == "active" and key.private is not None:
                return key
        await self.reload()
        for key in self._keys.values():
            if key.status == "active" and key.private is not None:
                return key
        raise RuntimeError("no active signing key: run `flexunion migrate`")

    async def jwks(self) -> dict[str, list[dict[str, str]]]:
        await self.refresh()
        return {"keys": [k.jwk for k in self._keys.values()]}
