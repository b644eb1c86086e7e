"""Helpers for the card tests: members in a given status, their cards, verification calls,
and the federation's card key read behind the API's back (to forge with it)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.auth.keys import SEAL_PURPOSE
from flexunion.auth.models import SigningKey
from flexunion.core.secrets import Keyring
from flexunion.membership.models import Member
from tests.conftest import TEST_SECRET
from tests.support.factories import Federation, Joined, bearer, join

Owner = async_sessionmaker[AsyncSession]
VERIFY = "/v1/cards/verify"

# joserfc prefers the RFC 9864 name "Ed25519"; the service (tokens and cards alike)
# publishes "EdDSA", which it still accepts. Modules that decode with joserfc use this.
JOSERFC_EDDSA = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload))


@dataclass
class Holder:
    joined: Joined
    card: dict[str, Any]

    @property
    def token(self) -> str:
        return self.card["token"]


async def member(
    client: httpx.AsyncClient, sms, fed: Federation, staff_token, home: str | None = None,
    status: str = "active",
) -> Joined:
    """A worker admitted (and then moved to `status`) by the home region's admin."""
    home = home or fed.stations[fed.regions[0]][0]
    region = next(r for r in fed.regions if home == r or home in fed.stations[r])
    admin = await staff_token(fed, "regional_admin", region)
    joined = await join(client, sms, fed, home, approver_token=admin)
    if status != "active":
        r = await client.post(f"/v1/admin/members/{joined.member_id}/status",
                              json={"to": status, "reason": "测试 test"}, headers=bearer(admin))
        assert r.status_code == 200, r.text
    return joined


async def set_status(client: httpx.AsyncClient, fed: Federation, staff_token, joined: Joined,
                     to: str, admin: str | None = None) -> None:
    """`admin`: a token issued before a test moved the clock (tokens are checked in real time)."""
    admin = admin or await staff_token(fed, "regional_admin", fed.regions[0])
    r = await client.post(f"/v1/admin/members/{joined.member_id}/status",
                          json={"to": to, "reason": "测试 test"}, headers=bearer(admin))
    assert r.status_code == 200, r.text


async def card(client: httpx.AsyncClient, joined: Joined) -> dict[str, Any]:
    r = await client.get("/v1/me/card", headers=bearer(joined.token))
    assert r.status_code == 200, r.text
    return r.json()


async def verify(client: httpx.AsyncClient, token: str, card_token: str) -> dict[str, Any]:
    r = await client.post(VERIFY, json={"card": card_token}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


async def officer_check(verifier: Any, sessions: async_sessionmaker[AsyncSession],
                        station: uuid.UUID, card_token: str) -> str:
    """A station officer's in-process verification, in a unit of work of its own (rolled
    back: a check writes nothing); its reason."""
    from flexunion.core.uow import UnitOfWork
    from flexunion.db.scope import DbScope

    uow = UnitOfWork(sessions, DbScope(station, "station_officer:test"))
    try:
        return str((await verifier.verify(uow, station, card_token)).reason)
    finally:
        await uow.rollback()
        await uow.close()


async def jwks(client: httpx.AsyncClient, fed: Federation) -> KeySet:
    r = await client.get(f"/v1/federations/{fed.hq}/jwks.json")
    assert r.status_code == 200, r.text
    return KeySet.import_key_set(r.json())


async def joserfc_decode(client: httpx.AsyncClient, fed: Federation, token: str | bytes):
    """Verified with joserfc (not PyJWT, which signs) against the federation's published JWKS."""
    return jose_jwt.decode(token, await jwks(client, fed), algorithms=["EdDSA"])


async def status_idx(owner: Owner, member_id: str) -> int:
    async with owner() as s:
        row = await s.get(Member, uuid.UUID(member_id))
        assert row is not None
        return row.status_idx


async def private_key(owner: Owner, *, purpose: str, federation_id: uuid.UUID | None = None
                      ) -> tuple[str, Ed25519PrivateKey]:
    """The active key of a purpose, unsealed with the test secret (an insider's view)."""
    async with owner() as s:
        stmt = select(SigningKey).where(SigningKey.status == "active",
                                        SigningKey.purpose == purpose)
        if federation_id is not None:
            stmt = stmt.where(SigningKey.federation_id == federation_id)
        row = (await s.scalars(stmt)).one()
    pem = Keyring(TEST_SECRET.encode()).open(SEAL_PURPOSE, row.private_key_sealed)
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return row.kid, key


def app_of(live) -> Any:
    return live.server.config.app


def forget_keys(live) -> None:
    """Make the live app reload its keys on next use (as it would within 60 s)."""
    app_of(live).state.key_store._loaded_at = float("-inf")
