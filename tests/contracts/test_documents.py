"""条款文书: every clause version in force is a compact JWS over its canonical (RFC 8785)
text, parameters and condition, signed with the federation's key from its JWKS; a foreign
JOSE library (jwcrypto, never used by the service) verifies it, and refuses it once altered;
`POST /v1/partner/clauses/verify` answers in_force / superseded / altered / unknown."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import rfc8785
from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer

VERIFY = "/v1/partner/clauses/verify"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def _published(client, owner, fed: Federation, staff_token):
    await load_templates(owner, fed)
    regional = await staff_token(fed, "regional_admin", fed.regions[0])
    agreement = await make_agreement(client, regional, scope=fed.regions[0])
    clause = (await add_clause(client, regional, agreement["id"], 1, template="union.funding",
                               parameters={"rate_pct": 2})).json()
    assert (await in_force(client, regional, agreement["id"], 1)).status_code == 200
    return regional, agreement, clause


async def test_the_document_is_standard_jws_and_a_tampered_one_is_altered(
        client, owner, federation: Federation, staff_token) -> None:
    regional, _, clause = await _published(client, owner, federation, staff_token)
    alpha = await partner_client(client, owner, federation, "alpha")
    r = await client.get(f"/v1/partner/contracts/clauses/{clause['id']}/document",
                         headers=bearer(alpha.token))
    assert r.status_code == 200, r.text
    token = r.json()["document"]
    keys = (await client.get(f"/v1/federations/{federation.hq}/jwks.json")).json()
    keyset = jwk.JWKSet.from_json(json.dumps(keys))
    # A foreign JOSE library verifies it against the federation's published JWKS.
    checked = jws.JWS()
    checked.deserialize(token)
    checked.verify(keyset.get_key(checked.jose_header["kid"]), alg="EdDSA")
    assert checked.jose_header["typ"] == "vnd.flexunion.clause+jws"
    payload = checked.payload
    assert rfc8785.dumps(json.loads(payload)) == payload  # canonical (JCS) bytes
    staff = (await client.get(f"/v1/admin/contracts/clauses/{clause['id']}",
                              headers=bearer(regional))).json()
    assert hashlib.sha256(payload).hexdigest() == r.json()["sha256"] == staff["document_sha256"]
    claims = json.loads(payload)
    assert claims["clause"]["parameters"] == {"rate_pct": 2.0, "period": "季度"}
    assert claims["clause"]["condition"] == "paid_rate_pct >= params.rate_pct && paid_on_time"
    assert claims["agreement"]["version"] == 1 and claims["partner"] == "alpha"
    ok = await client.post(VERIFY, json={"document": token}, headers=bearer(alpha.token))
    assert ok.status_code == 200 and ok.json()["status"] == "in_force", ok.text
    assert ok.json()["clause_id"] == clause["id"]
    # Altered: the rate lowered in the payload, the signature kept.
    head, _, sig = token.split(".")
    claims["clause"]["parameters"]["rate_pct"] = 0.5
    forged = f"{head}.{_b64(rfc8785.dumps(claims))}.{sig}"
    tampered = jws.JWS()
    tampered.deserialize(forged)
    with pytest.raises(JWException):
        tampered.verify(keyset.get_key(tampered.jose_header["kid"]), alg="EdDSA")
    r = await client.post(VERIFY, json={"document": forged}, headers=bearer(alpha.token))
    assert r.json()["status"] == "altered" and r.json()["status_zh"].startswith("文书被篡改")
    # Unknown: not a document at all; another partner's presented clause.
    r = await client.post(VERIFY, json={"document": "not.a.document"},
                          headers=bearer(alpha.token))
    assert r.json()["status"] == "unknown"
    beta = await partner_client(client, owner, federation, "beta")
    r = await client.post(VERIFY, json={"document": token}, headers=bearer(beta.token))
    assert r.json() == {"status": "unknown", "status_zh": "无法识别的条款文书",
                        "status_en": "Not a clause document known here", "clause_id": None,
                        "agreement_id": None, "version": None, "key": None}


async def test_a_renewal_in_force_supersedes_the_document(
        client, owner, federation: Federation, staff_token) -> None:
    regional, agreement, clause = await _published(client, owner, federation, staff_token)
    alpha = await partner_client(client, owner, federation, "alpha")
    old = (await client.get(f"/v1/admin/contracts/clauses/{clause['id']}/document",
                            headers=bearer(regional))).json()["document"]
    aid = agreement["id"]
    r = await client.post(f"/v1/admin/contracts/agreements/{aid}/renewals",
                          json={"starts_on": "2028-01-01", "ends_on": "2028-12-31"},
                          headers=bearer(regional))
    assert r.status_code == 201, r.text
    draft = (await client.get(f"/v1/admin/contracts/agreements/{aid}/versions/2",
                              headers=bearer(regional))).json()["clauses"][0]
    r = await client.get(f"/v1/admin/contracts/clauses/{draft['id']}/document",
                         headers=bearer(regional))
    assert r.status_code == 404 and r.json()["code"] == "clause_not_published"
    assert (await in_force(client, regional, aid, 2)).status_code == 200
    r = await client.post(VERIFY, json={"document": old}, headers=bearer(alpha.token))
    assert r.json()["status"] == "superseded" and r.json()["version"] == 1
    new = (await client.get(f"/v1/partner/contracts/clauses/{draft['id']}/document",
                            headers=bearer(alpha.token))).json()["document"]
    r = await client.post(VERIFY, json={"document": new}, headers=bearer(alpha.token))
    assert r.json()["status"] == "in_force" and r.json()["version"] == 2
    assert _unb64(new.split(".")[1]) != _unb64(old.split(".")[1])
