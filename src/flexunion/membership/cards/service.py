"""The portable membership card (电子会籍): issue and verify.

A card is a compact JWS (EdDSA, Ed25519) signed by the federation's card key:

    header  {"alg": "EdDSA", "typ": "vnd.flexunion.member-card+jwt", "kid": …}
    claims  iss  {issuer}/federations/{hq code}
            sub  the member id (an opaque uuid, never the ID number)
            name masked name · home  home tenant code · member_no · member_since
            iat, nbf, exp (≤ 30 days) · jti
            status.status_list {idx, uri}   (draft-ietf-oauth-status-list)

Anyone can check it offline with the federation's JWKS and its status list;
`POST /v1/cards/verify` checks it online for every tenant of the federation.

Verification is strict, like access tokens (auth/tokens.py): only EdDSA, the
card `typ`, a `kid` of a card key (an access-token key is unknown here), no
embedded or remote keys (jku, jwk, x5u, x5c) and no `crit`. It parses the
compact form itself and leaves the signature to `cryptography`: the profile is
one algorithm and one key type, and a general JOSE library's generic path costs
about a third of the verification rate (bench/cards.py). Cards are signed with
PyJWT and verified by joserfc in the tests, so the two sides never share code.
Each failure has its own stable reason; no audit row is written per check (the
access log is enough, and the audit chain head would serialise verifications).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import jwt
import msgspec
from cryptography.exceptions import InvalidSignature
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.keys import ALG, KeyStore, LoadedKey
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, NotFound, ServiceUnavailable
from flexunion.core.uow import UnitOfWork
from flexunion.federation import directory
from flexunion.membership import repository
from flexunion.membership import service as membership
from flexunion.membership.cards import status_list
from flexunion.membership.cards.holders import MISS, HolderStore, Miss
from flexunion.membership.cards.qr import qr_svg
from flexunion.membership.cards.status_list import SignedList
from flexunion.membership.models import STATUSES

log = logging.getLogger("flexunion.cards")
CARD_TYPE = "vnd.flexunion.member-card+jwt"
MAX_TTL = timedelta(days=30)
MAX_CARD_BYTES = 4096
MAX_LEEWAY = 60
CARD_STATUSES = ("active", "suspended", "parked")
# The compact form, base64url only; the signature is 64 bytes in its one canonical
# spelling (86 characters, the last carrying 2 bits and 4 zero bits).
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{85}[AQgw]")
_KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_REFUSED_HEADERS = ("jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64")

REASONS: dict[str, tuple[str, str]] = {
    "ok": ("有效会员卡", "Valid card, active member"),
    "malformed": ("无法识别的会员卡", "Not a well-formed card"),
    "wrong_type": ("不是会员卡", "Not a membership card"),
    "unknown_key": ("签发密钥未知", "Signed by an unknown key"),
    "bad_signature": ("签名无效（伪造或篡改）", "Invalid signature (forged or altered)"),
    "expired": ("会员卡已过期，请刷新", "The card has expired"),
    "not_yet_valid": ("会员卡尚未生效", "The card is not valid yet"),
    "other_federation": ("非本联合会签发", "Issued by another federation"),
    "revoked": ("会籍已终止", "Membership ended"),
    "suspended": ("会籍已暂停", "Membership suspended"),
    "parked": ("保留会籍（暂停服务）", "Membership parked (保留会籍)"),
    "unknown_member": ("查无此会员", "No such member"),
}
_BY_STATUS = {"active": "ok", "suspended": "suspended", "parked": "parked"}  # else revoked


def reason_of(status: str) -> str:
    """The verdict's reason for a holder in `status` (left, rejected: revoked)."""
    return _BY_STATUS.get(status, "revoked")


def federation_issuer(settings: Settings, hq_code: str) -> str:
    return f"{settings.issuer}/federations/{hq_code}"


def status_list_uri(settings: Settings, hq_code: str) -> str:
    return f"{settings.issuer}/v1/federations/{hq_code}/status-list"


def card_ttl(settings: Settings) -> timedelta:
    return min(timedelta(seconds=max(settings.membership.card_ttl_seconds, 60)), MAX_TTL)


def _missing_key() -> ServiceUnavailable:
    return ServiceUnavailable("本联合会尚无会员卡签名密钥，请运维人员运行 `flexunion migrate`。",
                              "This federation has no card signing key yet; an operator "
                              "runs `flexunion migrate`.", code="card_key_missing")


# ---- issue -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedCard:
    token: str
    qr_svg: str
    expires_at: datetime
    status_list_uri: str


REUSE_SECONDS = 600  # an unchanged card is handed out again for this long (its QR too)
ISSUED_ENTRIES = 1024  # ~17 KB each (the SVG): ≤ ~18 MB


class IssuedCards:
    """Cards handed out lately, by their content (key, member, slot, home, name, number):
    asking again for an unchanged card within `REUSE_SECONDS` (by the service clock)
    gets the same signed card and QR code (drawing a QR costs ~2.5 ms, qr.py; signing ~0.1 ms).
    Any change of content (a new home after a transfer, a new key) makes a new card."""

    def __init__(self, entries: int = ISSUED_ENTRIES) -> None:
        self.entries = entries
        self._cards: OrderedDict[tuple[Any, ...], tuple[datetime, IssuedCard]] = OrderedDict()
        self.renders = 0  # QR codes drawn (tests and metrics)

    def get(self, content: tuple[Any, ...], now: datetime, ttl: timedelta) -> IssuedCard | None:
        found = self._cards.get(content)
        if found is None:
            return None
        age = (now - found[0]).total_seconds()
        if not 0 <= age < min(REUSE_SECONDS, ttl.total_seconds() / 2):
            del self._cards[content]  # a clock moved back, or old enough: a new card
            return None
        self._cards.move_to_end(content)
        return found[1]

    def put(self, content: tuple[Any, ...], now: datetime, card: IssuedCard) -> None:
        self._cards[content] = (now, card)
        self._cards.move_to_end(content)
        while len(self._cards) > self.entries:
            self._cards.popitem(last=False)


ISSUED = IssuedCards()


async def issue(
    session: AsyncSession, keys: KeyStore, settings: Settings, clock: Clock, caller: Caller,
    issued: IssuedCards = ISSUED,
) -> IssuedCard:
    """The worker's own card, read with the worker's own scope."""
    member = await membership.own_member(session, caller)
    if member is None:
        raise membership.not_a_member()
    if member.status not in CARD_STATUSES:
        raise Conflict(f"会籍状态为「{STATUSES[member.status]}」，没有会员卡。",
                       f"A membership that is '{member.status}' has no card.",
                       code="card_unavailable", extra={"member_status": member.status})
    tenants = (await directory.directory(session, member.federation_id)).by_id
    hq_code, home_code = tenants[member.federation_id].code, tenants[member.tenant_id].code
    key = await keys.card_signing_key(member.federation_id)
    if key is None or key.private is None:
        raise _missing_key()
    now = clock.now().replace(microsecond=0)
    ttl = card_ttl(settings)
    uri = status_list_uri(settings, hq_code)
    content = {
        "iss": federation_issuer(settings, hq_code),
        "sub": str(member.id),
        "name": member.name_masked,
        "home": home_code,
        "member_no": member.member_no,
        "member_since": member.member_since.isoformat() if member.member_since else None,
        "status": {"status_list": {"idx": member.status_idx, "uri": uri}},
    }
    cache_key = (key.kid, content["iss"], content["sub"], content["name"], home_code,
                 content["member_no"], content["member_since"], member.status_idx, uri)
    again = issued.get(cache_key, now, ttl)
    if again is not None:
        return again
    expires = now + ttl
    claims = {**content, "iat": now, "nbf": now, "exp": expires,
              "jti": secrets.token_urlsafe(12)}
    token = jwt.encode(claims, key.private, algorithm=ALG,
                       headers={"kid": key.kid, "typ": CARD_TYPE})
    card = IssuedCard(token, qr_svg(token), expires, uri)
    issued.renders += 1
    issued.put(cache_key, now, card)
    return card


# ---- verify ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Holder:
    status: str
    name_masked: str
    member_no: str | None
    member_since: date | None
    home_code: str
    home_name_zh: str


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: str
    status: str | None = None
    holder: Holder | None = None
    member_id: uuid.UUID | None = None  # the card's `sub`, once the holder was found
    federation_id: uuid.UUID | None = None

    @property
    def valid(self) -> bool:
        return self.reason == "ok"


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _b64(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _Rejected("malformed") from exc


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise _Rejected("malformed") from exc
    if not isinstance(value, dict):
        raise _Rejected("malformed")
    return value


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Rejected("malformed")
    return value


SIGNED_CACHE_ENTRIES = 8192
READY_SECONDS = 10.0  # a status list waits this long for the store before reading rows
SIGNED_CACHE_SECONDS = 60.0


class CardVerifier:
    """Checks cards for callers of one service instance. Caches only what does not
    change (a tenant's federation and its HQ code) and, when `holder_cache_seconds`
    is above 0, a holder's status read for that long (by the service clock).

    With `holders` (the instance's HolderStore) the holder's status and home are read
    from memory, kept current by NOTIFY (holders.py); a slot the store cannot answer
    (not loaded yet, a change in flight) is read from PostgreSQL as without it."""

    def __init__(self, settings: Settings, keys: KeyStore, clock: Clock,
                 holder_cache_seconds: float | None = None, reader: Any = None,
                 signature_cache_seconds: float = SIGNED_CACHE_SECONDS,
                 holders: HolderStore | None = None) -> None:
        """reader: an asyncpg pool of the app role for the one-statement holder read
        (a SECURITY DEFINER function needing no tenant scope): one round trip instead
        of a session's BEGIN, scope, query and COMMIT."""
        self.reader = reader
        self.holders = holders
        self.memory_answers = 0  # verifications answered from `holders` (tests, metrics)
        self.signature_cache_seconds = signature_cache_seconds
        self.settings = settings
        self.keys = keys
        self.clock = clock
        self.leeway = min(settings.auth.leeway_seconds, MAX_LEEWAY)
        self.holder_cache_seconds = (settings.membership.card_verify_cache_seconds
                                     if holder_cache_seconds is None else holder_cache_seconds)
        self._federations: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
        self._holders: dict[tuple[uuid.UUID, uuid.UUID], tuple[datetime, Holder | None]] = {}
        self._signed: OrderedDict[str, tuple[uuid.UUID, dict[str, Any], int, float]] = OrderedDict()

    async def caller_federation(
        self, uow: UnitOfWork, tenant_id: uuid.UUID
    ) -> tuple[uuid.UUID, str] | None:
        """(federation id, HQ code) of the caller's tenant, read under the caller's scope."""
        known = self._federations.get(tenant_id)
        if known is None:
            found = await repository.caller_hq(uow.session)
            if found is None:
                return None
            if len(self._federations) > 10_000:
                self._federations.clear()
            known = self._federations[tenant_id] = found
        return known

    async def holder(self, uow: UnitOfWork, federation_id: uuid.UUID,
                     member_id: uuid.UUID) -> Holder | None:
        if self.holder_cache_seconds > 0:
            cached = self._holders.get((federation_id, member_id))
            if cached is not None:
                age = (self.clock.now() - cached[0]).total_seconds()
                if 0 <= age < self.holder_cache_seconds:
                    return cached[1]
        if self.reader is not None:
            row = await repository.card_holder_read(self.reader, federation_id, member_id,
                                                    uow.scope.tenant_id)
        else:
            row = await repository.card_holder(uow.session, federation_id, member_id)
        found = Holder(*row) if row is not None else None
        if self.holder_cache_seconds > 0:
            if len(self._holders) > 100_000:
                self._holders.clear()
            self._holders[(federation_id, member_id)] = (self.clock.now(), found)
        return found

    async def verify(self, uow: UnitOfWork, caller_tenant_id: uuid.UUID, card: str) -> Verdict:
        """The database is touched (through `uow`, under the caller's scope) only for what
        is not cached: so a card refused on its face opens no session at all."""
        try:
            return await self._verify(uow, caller_tenant_id, card)
        except _Rejected as rejected:
            return Verdict(rejected.reason)

    async def _verify(self, uow: UnitOfWork, caller_tenant_id: uuid.UUID, card: str) -> Verdict:
        signed = self._signed.get(card) if self.signature_cache_seconds > 0 else None
        if signed is not None:
            await self.keys.refresh()  # a reload (≤ 60 s, or forced) ends every remembered check
            if signed[2] != self.keys.generation or time.monotonic() >= signed[3]:
                signed = None
        if signed is not None:
            signer_federation, claims = signed[0], signed[1]
        else:
            signer_federation, claims = await self._check_signature(card)
            # The same bytes under the same keys verify the same way: remember a good
            # signature until the keys reload (≤ 60 s: when a revoked key leaves).
            if len(self._signed) >= SIGNED_CACHE_ENTRIES:
                self._signed.popitem(last=False)
            self._signed[card] = (signer_federation, claims, self.keys.generation,
                                  time.monotonic() + self.signature_cache_seconds)
        return await self._check_claims(uow, caller_tenant_id, signer_federation, claims)

    async def _check_signature(self, card: str) -> tuple[uuid.UUID, dict[str, Any]]:
        if len(card) > MAX_CARD_BYTES:
            raise _Rejected("malformed")
        parts = card.split(".")
        if len(parts) != 3:
            raise _Rejected("malformed")
        header = _json_object(_b64(parts[0]))
        if header.get("typ") != CARD_TYPE:
            raise _Rejected("wrong_type")
        if header.get("alg") != ALG:  # none, HS256 with the public key as secret, RS256 …
            raise _Rejected("bad_signature")
        if any(name in header for name in _REFUSED_HEADERS):
            raise _Rejected("unknown_key")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise _Rejected("unknown_key")
        if not _COMPACT.fullmatch(card):
            raise _Rejected("malformed")
        key = await self.keys.card_key(kid)
        if key is None or key.federation_id is None:
            raise _Rejected("unknown_key")
        try:
            key.public.verify(_b64(parts[2]), card[: len(parts[0]) + len(parts[1]) + 1].encode())
        except InvalidSignature as exc:
            raise _Rejected("bad_signature") from exc
        return key.federation_id, _json_object(_b64(parts[1]))

    async def _check_claims(self, uow: UnitOfWork, caller_tenant_id: uuid.UUID,
                            signer_federation: uuid.UUID, claims: dict[str, Any]) -> Verdict:
        federation = await self.caller_federation(uow, caller_tenant_id)
        if federation is None or signer_federation != federation[0]:
            raise _Rejected("other_federation")
        if claims.get("iss") != federation_issuer(self.settings, federation[1]):
            raise _Rejected("malformed")
        now = self.clock.now().timestamp()
        exp, nbf, iat = _number(claims, "exp"), _number(claims, "nbf"), _number(claims, "iat")
        if exp <= now - self.leeway:
            raise _Rejected("expired")
        if nbf > now + self.leeway or iat > now + self.leeway:
            raise _Rejected("not_yet_valid")
        try:
            member_id = uuid.UUID(claims["sub"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _Rejected("malformed") from exc
        found = self._from_memory(federation[0], member_id, claims)
        holder = (await self.holder(uow, federation[0], member_id) if found is MISS
                  else found)
        if not isinstance(holder, Holder):
            raise _Rejected("unknown_member")
        return Verdict(_BY_STATUS.get(holder.status, "revoked"), holder.status, holder,
                       member_id, federation[0])

    def _from_memory(self, federation_id: uuid.UUID, member_id: uuid.UUID,
                     claims: dict[str, Any]) -> Holder | Miss | None:
        """The holder from the store and the card's own signed claims; MISS to read it."""
        if self.holders is None or self.holder_cache_seconds > 0:
            return MISS
        try:
            slot = claims["status"]["status_list"]["idx"]
            name, member_no, since = claims["name"], claims["member_no"], claims["member_since"]
            if (not isinstance(slot, int) or isinstance(slot, bool) or not isinstance(name, str)
                    or not isinstance(member_no, str | None)):
                return MISS
            member_since = date.fromisoformat(since) if since is not None else None
        except (KeyError, TypeError, ValueError):
            return MISS
        found = self.holders.lookup(federation_id, slot, member_id)
        if found is MISS or found is None:
            return found
        status, home = found
        self.memory_answers += 1
        return Holder(status, name, member_no, member_since, home.code, home.name_zh)


# ---- one instance's card desk ------------------------------------------------------


class CardDesk:
    """What one app instance keeps for cards: the verifier, the signed status lists
    (≤ 30 s, or until a status changes), federation codes (an HQ's code and id never
    change), and with `holders` every checked federation's slots (holders.py)."""

    def __init__(self, settings: Settings, keys: KeyStore, clock: Clock,
                 reader: Any = None, holders: HolderStore | None = None) -> None:
        self.settings = settings
        self.keys = keys
        self.clock = clock
        self.holders = holders
        self.verifier = CardVerifier(settings, keys, clock, reader=reader, holders=holders)
        self.lists = status_list.StatusListCache(clock)
        self._federations: dict[str, uuid.UUID] = {}

    async def federation(self, session: AsyncSession, code: str) -> uuid.UUID:
        fed = self._federations.get(code)
        if fed is None:
            fed = await directory.find_federation(session, code)
            if fed is None:
                raise NotFound(f"没有联合会 {code}。", f"No federation '{code}'.",
                               code="federation_not_found")
            if len(self._federations) > 10_000:
                self._federations.clear()
            self._federations[code] = fed
        return fed

    async def status_list(self, session: AsyncSession, code: str) -> status_list.SignedList:
        fed = await self.federation(session, code)
        uri, issuer = status_list_uri(self.settings, code), federation_issuer(self.settings, code)

        async def signing_key() -> LoadedKey:
            key = await self.keys.card_signing_key(fed)
            if key is None:
                raise _missing_key()
            return key

        if self.holders is None:
            return await self._status_list_from_rows(session, fed, uri, issuer)

        # From memory: packed and compressed in a thread, so no request waits on it; a
        # change (its slots re-read, ms after commit) makes the next request rebuild.
        snap = self.holders.slots(fed)
        if snap is None:
            recent = self.lists.recent(fed)
            if recent is not None:
                return recent  # a change is in flight: the list it replaces (≤ 30 s old)
            try:
                snap = await asyncio.wait_for(self.holders.ready(fed), READY_SECONDS)
            except Exception:  # not loadable now (the database away …): read it as before
                log.warning("status list of %s built from the database", code, exc_info=True)
                return await self._status_list_from_rows(session, fed, uri, issuer)
        codes, generation = snap.codes, snap.generation

        async def build_packed(now: datetime) -> str:
            key = await signing_key()
            raw = await asyncio.to_thread(status_list.pack_codes, codes.copy())
            return status_list.sign_packed(raw, key=key, uri=uri, issuer=issuer, now=now)

        return await self.lists.get(fed, build_packed, generation=generation)

    async def _status_list_from_rows(self, session: AsyncSession, fed: uuid.UUID, uri: str,
                                     issuer: str) -> SignedList:
        """Every member row read in the request (no store: tests, tools; or it failed)."""

        async def build(now: datetime) -> str:
            key = await self.keys.card_signing_key(fed)
            if key is None:
                raise _missing_key()
            statuses = await repository.status_entries(session, fed)
            return status_list.sign_list(statuses, key=key, uri=uri, issuer=issuer, now=now)

        return await self.lists.get(fed, build)

    async def jwks(self, session: AsyncSession, code: str) -> dict[str, list[dict[str, str]]]:
        return await self.keys.card_jwks(await self.federation(session, code))


def desk_of(state: Any) -> CardDesk:
    """The app's one desk (its keys, caches and holder store), made on first use; the API
    and the console's card check share it."""
    found: CardDesk | None = state.get("card_desk")
    if found is None:  # no await between the look and the set: one desk per app
        found = state.card_desk = CardDesk(state.settings, state.key_store, state.clock,
                                           reader=state.get("reader"),
                                           holders=state.get("card_holders"))
    return found
