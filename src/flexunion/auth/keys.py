"""Signing keys (Ed25519) with `kid` rotation, and the JWKS the world verifies against.

Private keys are stored sealed (AES-GCM under a subkey of the service secret).
Two purposes never mix: `access` keys (service-wide) sign access tokens, `card`
keys (one set per federation, `federation_id` = its HQ) sign membership cards
and status lists. Per purpose (and federation) exactly one key is `active`
(signs); `retired` keys stay in the JWKS so what they signed verifies until it
expires; `revoked` keys are gone from both. An access-token check never looks
at a card key and a card check never at an access key.
Keys are written only by the owner (`flexunion migrate`, `tenants apply`,
`flexunion keys rotate [--federation CODE]`): the app role can only read them."""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.auth import repository
from flexunion.auth.models import SigningKey
from flexunion.core.secrets import Keyring

# The federations (HQ rows) that need a card key: the directory has no list of them yet.
from flexunion.federation import directory

log = logging.getLogger(__name__)

ALG = "EdDSA"
SEAL_PURPOSE = "signing-key"
ACCESS = "access"
CARD = "card"

# The keyring the owner last used for key work in this process (`prepare()` runs
# `ensure_active_key` before anything else), so `tenants apply` can seal the card
# keys of the federations it creates without being handed the secret again.
_owner_keyring: Keyring | None = None


def _remember(keyring: Keyring) -> None:
    global _owner_keyring
    _owner_keyring = keyring


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
    purpose: str = ACCESS
    federation_id: uuid.UUID | None = None


async def create_key(
    session: AsyncSession, keyring: Keyring, *, activate: bool, purpose: str = ACCESS,
    federation_id: uuid.UUID | None = None,
) -> str:
    """Owner-only (the app role cannot write signing_keys). Activating retires the
    active key of the same purpose (and federation) only."""
    if (purpose == CARD) != (federation_id is not None):
        raise ValueError("card keys belong to one federation; access keys to none")
    _remember(keyring)
    private = Ed25519PrivateKey.generate()
    kid = (f"{purpose}-" if purpose != ACCESS else "") + time.strftime("%Y%m%d") + "-" \
        + secrets.token_hex(4)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if activate:
        await repository.retire_active(session, purpose, federation_id)
    await repository.add(
        session,
        SigningKey(
            kid=kid,
            alg=ALG,
            public_jwk=public_jwk(kid, private.public_key()),
            private_key_sealed=keyring.seal(SEAL_PURPOSE, pem),
            status="active" if activate else "retired",
            purpose=purpose,
            federation_id=federation_id,
        ),
    )
    return kid


async def ensure_active_key(session: AsyncSession, keyring: Keyring) -> str:
    _remember(keyring)
    kid = await repository.active_kid(session, ACCESS)
    return kid or await create_key(session, keyring, activate=True)


async def ensure_card_keys(
    session: AsyncSession, keyring: Keyring | None = None,
    federation_ids: Iterable[uuid.UUID] | None = None,
) -> list[str]:
    """Give every federation (or the ones named) an active card key; returns new kids.
    Owner-only. Without a keyring (and none used before in this process) nothing can be
    sealed: it logs and returns, and the next `flexunion migrate` creates the keys."""
    keyring = keyring or _owner_keyring
    if keyring is None:
        log.warning("no keyring for card keys; `flexunion migrate` will create them")
        return []
    _remember(keyring)
    federations = await directory.federation_ids(session, federation_ids)
    keyed = await repository.federations_with_active_key(session, CARD)
    return [await create_key(session, keyring, activate=True, purpose=CARD, federation_id=fed)
            for fed in federations if fed not in keyed]


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
        self.generation = 0
        self._forced_at = -forced_interval
        self._forced_interval = forced_interval
        self._lock = asyncio.Lock()
        self._card_misses: dict[uuid.UUID, float] = {}

    async def _load(self) -> None:
        async with self._sessionmaker() as session:
            rows = await repository.unrevoked(session)
        keys: dict[str, LoadedKey] = {}
        for row in rows:
            private = None
            if row.status == "active":
                private = self._open(row)
            x = base64.urlsafe_b64decode(row.public_jwk["x"] + "==")
            keys[row.kid] = LoadedKey(
                row.kid, row.status, Ed25519PublicKey.from_public_bytes(x), row.public_jwk, private,
                row.purpose, row.federation_id,
            )
        self._keys = keys
        self._loaded_at = time.monotonic()
        self.generation += 1  # caches of verified signatures are valid for one generation

    def _open(self, row: SigningKey) -> Ed25519PrivateKey | None:
        try:
            pem = self._keyring.open(SEAL_PURPOSE, row.private_key_sealed)
        except Exception:
            if row.purpose == ACCESS:
                raise
            log.error("card key %s cannot be unsealed with this service secret", row.kid)
            return None
        loaded = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(loaded, Ed25519PrivateKey)
        return loaded

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

    async def _lookup(self, kid: str, purpose: str) -> LoadedKey | None:
        await self.refresh()
        key = self._keys.get(kid)
        if key is None:
            await self.refresh(force=True)
            key = self._keys.get(kid)
        return key if key is not None and key.purpose == purpose else None

    async def verification_key(self, kid: str) -> Ed25519PublicKey | None:
        """An access-token key; a card key's kid is unknown here."""
        key = await self._lookup(kid, ACCESS)
        return key.public if key else None

    async def card_key(self, kid: str) -> LoadedKey | None:
        """A card key of any federation (the caller compares `federation_id`)."""
        return await self._lookup(kid, CARD)

    def _active(self, purpose: str, federation_id: uuid.UUID | None) -> LoadedKey | None:
        for key in self._keys.values():
            if (key.status == "active" and key.private is not None and key.purpose == purpose
                    and key.federation_id == federation_id):
                return key
        return None

    async def signing_key(self) -> LoadedKey:
        await self.refresh()
        key = self._active(ACCESS, None)
        if key is None:
            await self.reload()
            key = self._active(ACCESS, None)
        if key is None:
            raise RuntimeError("no active signing key: run `flexunion migrate`")
        return key

    async def card_signing_key(self, federation_id: uuid.UUID) -> LoadedKey | None:
        """The federation's active card key, or None (the owner has not created it yet).
        A miss reloads at once (a federation just applied), then at most once per
        `forced_interval` per federation, so a keyless federation cannot hammer the database."""
        await self.refresh()
        key = self._active(CARD, federation_id)
        if key is None and await self._reload_for(federation_id):
            key = self._active(CARD, federation_id)
        return key

    async def _reload_for(self, federation_id: uuid.UUID) -> bool:
        now = time.monotonic()
        last = self._card_misses.get(federation_id, -self._forced_interval)
        if now - last < self._forced_interval:
            return False
        self._card_misses[federation_id] = now
        await self.reload()
        return True

    async def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Access-token keys only."""
        await self.refresh()
        return {"keys": [k.jwk for k in self._keys.values() if k.purpose == ACCESS]}

    async def card_jwks(self, federation_id: uuid.UUID) -> dict[str, list[dict[str, str]]]:
        """One federation's card keys, active and retired (revoked ones are never loaded)."""
        await self.refresh()

        def listed() -> list[dict[str, str]]:
            return [k.jwk for k in self._keys.values()
                    if k.purpose == CARD and k.federation_id == federation_id]

        keys = listed()
        if not keys and await self._reload_for(federation_id):
            keys = listed()
        return {"keys": keys}
