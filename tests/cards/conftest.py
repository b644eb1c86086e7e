"""Helpers for the card tests: members in a given status, their cards, verification calls,
and the federation's card key read behind the API's back (to forge with it)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
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


# ---- reading a card's QR code back -------------------------------------------------

_SVG_SIZE = re.compile(r'<svg [^>]*viewBox="0 0 (\d+) (\d+)"')
_SVG_PATH = re.compile(r'<path [^>]*\bd="([^"]*)"')
_PATH_STEP = re.compile(r"([Mmh])(-?\d+(?:\.\d+)?)(?:\s(-?\d+(?:\.\d+)?))?")


def svg_modules(svg: str) -> np.ndarray:
    """The dark modules a card's SVG paints, quiet zone included (True where dark): its one
    path read by SVG's own rules — M/m move (absolute/relative), h draws a horizontal line,
    stroked 1 unit wide, so a line at y + 0.5 covers module row y. Any other command (or
    more than one path) fails: a drawing this cannot read is not taken as empty."""
    size = _SVG_SIZE.search(svg)
    paths = _SVG_PATH.findall(svg)
    assert size is not None and len(paths) == 1, svg[:200]
    width, height = int(size[1]), int(size[2])
    dark = np.zeros((height, width), dtype=bool)
    d = paths[0]
    steps = list(_PATH_STEP.finditer(d))
    assert "".join(m[0] for m in steps) == d, "a path command this reader does not know"
    x = y = 0.0
    for m in steps:
        cmd, a, b = m[1], float(m[2]), m[3]
        if cmd == "M":
            x, y = a, float(b)
        elif cmd == "m":
            x, y = x + a, y + float(b)
        else:
            assert b is None and a > 0 and y % 1 == 0.5 and x % 1 == 0
            dark[int(y), int(x):int(x + a)] = True
            x += a
    return dark


def read_qr(dark: np.ndarray, pixels: int = 3) -> Any:
    """zxing-cpp's reader on the matrix drawn at `pixels` per module (black on white)."""
    import zxingcpp

    image = np.where(dark, 0, 255).astype(np.uint8).repeat(pixels, 0).repeat(pixels, 1)
    found = zxingcpp.read_barcode(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert found is not None, "no QR code read"
    return found
