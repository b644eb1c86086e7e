"""条款文书 A clause version in force as a signed document, and checking one presented.

The document is a compact JWS (RFC 7515) signed with the federation's card key — the key
the federation's JWKS serves at `/v1/federations/{code}/jwks.json` (auth/keys.py) — so a
partner or a worker representative can check it offline with any JOSE library:

    header   {"alg": "EdDSA", "kid": …, "typ": "vnd.flexunion.clause+jws", "cty": "json"}
    payload  RFC 8785 (JCS) canonical JSON of the clause version:
             iss, federation, partner, agreement {id, code, kind, title, version, starts_on,
             ends_on}, clause {id, key, title_zh, title_en, text, parameters, evidence_schema,
             condition, template, template_revision, agenda_item}, iat

JCS (the `rfc8785` package) fixes key order, spacing and the spelling of numbers and
strings, so the same clause gives the same bytes wherever it is re-serialised, and
`document_sha256` (sha256 of those bytes) names it.

Verification (`verify`) answers `in_force`, `superseded`, `altered` (a document naming a
key of the caller's federation whose signature does not hold over what is presented: a
changed text, parameter or condition) or `unknown` (not a compact JWS of this type, not
signed by a key of the caller's federation, or a clause the caller cannot see).
Signed by PyJWT, checked here with `cryptography` directly (one algorithm, one key type,
like the cards), and in the tests with a foreign JOSE library (jwcrypto)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
import rfc8785
from cryptography.exceptions import InvalidSignature
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.keys import ALG, KeyStore
from flexunion.contracts.agreements import service as agreements
from flexunion.contracts.agreements.models import Agreement, AgreementClause, AgreementVersion
from flexunion.core.context import Caller
from flexunion.core.errors import NotFound, ServiceUnavailable
from flexunion.federation import directory

TYPE = "vnd.flexunion.clause+jws"
_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
VERDICTS: dict[str, tuple[str, str]] = {
    "in_force": ("现行有效的条款", "The clause version in force"),
    "superseded": ("已被新版本取代", "Superseded by a later version"),
    "altered": ("文书被篡改或签名无效", "Altered, or the signature does not hold"),
    "unknown": ("无法识别的条款文书", "Not a clause document known here"),
}


class DocumentNotPublished(NotFound):
    code, title, title_en = ("clause_not_published", "该条款尚未生效发布",
                             "The clause is not published yet")


@dataclass(frozen=True, slots=True)
class SignedDocument:
    document: str
    sha256: str
    kid: str


def _b64(raw: str) -> bytes:
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def canonical(payload: dict[str, Any]) -> bytes:
    return rfc8785.dumps(payload)


def payload_of(issuer: str, hq_code: str, partner_code: str, agreement: Agreement,
               version: AgreementVersion, clause: AgreementClause, now: datetime,
               ) -> dict[str, Any]:
    return {
        "iss": issuer, "federation": hq_code, "partner": partner_code,
        "agreement": {"id": str(agreement.id), "code": agreement.code, "kind": agreement.kind,
                      "title": agreement.title, "version": version.number,
                      "starts_on": version.starts_on.isoformat(),
                      "ends_on": version.ends_on.isoformat()},
        "clause": {"id": str(clause.id), "key": clause.clause_key, "title_zh": clause.title_zh,
                   "title_en": clause.title_en, "text": clause.text,
                   "parameters": clause.parameters, "evidence_schema": clause.evidence_schema,
                   "condition": clause.condition, "template": clause.template_code,
                   "template_revision": clause.template_revision,
                   "agenda_item": str(clause.agenda_item_id) if clause.agenda_item_id else None},
        "iat": int(now.timestamp()),
    }


class DocumentDesk:
    """Signs clause versions (the agreements' `Signer`) and checks presented documents."""

    def __init__(self, keys: KeyStore, issuer: str) -> None:
        self.keys, self.issuer = keys, issuer

    async def sign(self, session: AsyncSession, agreement: Agreement, version: AgreementVersion,
                   clause: AgreementClause, now: datetime) -> SignedDocument:
        key = await self.keys.card_signing_key(agreement.federation_id)
        if key is None or key.private is None:
            raise ServiceUnavailable("本联合会尚无签名密钥，请运维人员运行 `flexunion migrate`。",
                                     "This federation has no signing key yet.",
                                     code="card_key_missing")
        tenants = await directory.directory(session, agreement.federation_id)
        partners = await directory.partner_codes(session, agreement.federation_id)
        payload = canonical(payload_of(
            f"{self.issuer}/federations/{tenants.hq.code}", tenants.hq.code,
            partners[agreement.partner_id], agreement, version, clause, now))
        token = jwt.api_jws.PyJWS().encode(
            payload, key.private, algorithm=ALG,
            headers={"kid": key.kid, "typ": TYPE, "cty": "json"})
        return SignedDocument(token, hashlib.sha256(payload).hexdigest(), key.kid)

    async def verify(self, session: AsyncSession, caller: Caller,
                     document: str) -> tuple[str, AgreementClause | None]:
        """(verdict, the clause presented if the caller may see it)."""
        found = _COMPACT.fullmatch(document.strip())
        if found is None:
            return "unknown", None
        head_raw, body_raw, sig_raw = found.groups()
        try:
            header = json.loads(_b64(head_raw))
            body = _b64(body_raw)
            signature = _b64(sig_raw)
            claims = json.loads(body)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return "unknown", None
        if not isinstance(header, dict) or header.get("alg") != ALG \
                or header.get("typ") != TYPE or not isinstance(header.get("kid"), str):
            return "unknown", None
        key = await self.keys.card_key(header["kid"])
        if key is None or key.federation_id != await directory.federation_of(session, caller):
            return "unknown", None
        try:
            key.public.verify(signature, f"{head_raw}.{body_raw}".encode())
        except InvalidSignature:
            return "altered", None
        try:
            clause_id = uuid.UUID(claims["clause"]["id"])
        except (KeyError, TypeError, ValueError):
            return "unknown", None
        try:
            clause = await agreements.clause(session, clause_id)
        except agreements.ClauseNotFound:
            return "unknown", None
        if clause.document_sha256 != hashlib.sha256(body).hexdigest():
            return "altered", clause
        return ("in_force" if clause.status == "in_force" else "superseded"), clause

    async def document(self, session: AsyncSession, clause_id: uuid.UUID) -> AgreementClause:
        clause = await agreements.clause(session, clause_id)
        if clause.document is None:
            raise DocumentNotPublished("该条款所在版本尚未生效。",
                                       "The clause's version is not in force yet.")
        return clause


def desk_of(state: Any) -> DocumentDesk:
    found: DocumentDesk | None = state.get("clause_desk")
    if found is None:
        found = state.clause_desk = DocumentDesk(state.key_store, state.settings.issuer)
    return found
