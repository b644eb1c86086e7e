"""核验材料附件: the partner attaches files to its checkpoint's evidence through the evidence
store (sniffed type, size cap, sha256, Idempotency-Key); the checkpoint lists them to the
partner and to staff in scope, who download them; another partner sees and reaches none; the
next evaluation records the files' hashes, and the breach case the contracts-breach job opens
carries the clause, the evidence and the files. Real database, real app."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.config import Settings
from flexunion.core.clock import FixedClock
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.jobs import service as jobs
from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.jobs.conftest import body
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer

ADMIN = "/v1/admin/contracts"
PARTNER = "/v1/partner/contracts"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32


@pytest.fixture
async def app_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    assert settings.app_database_url
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


def _idem(token: str, key: str | None = None) -> dict[str, str]:
    return bearer(token) | {"Idempotency-Key": key or secrets.token_hex(8)}


async def test_files_on_a_checkpoints_evidence_go_into_its_evaluation_and_its_case(
        client, owner, federation: Federation, staff_token, app_sessions,
        settings: Settings) -> None:
    await load_templates(owner, federation)
    regional = await staff_token(federation, "regional_admin", federation.regions[0])
    agreement = await make_agreement(client, regional, scope=federation.regions[0])
    r = await add_clause(client, regional, agreement["id"], 1, template="outcome.commission",
                         parameters={"max_rate_pct": 20})
    assert (await in_force(client, regional, agreement["id"], 1)).status_code == 200
    r = await client.post(f"{ADMIN}/clauses/{r.json()['id']}/checkpoints",
                          json={"schedule": "quarterly", "evidence_days": 10},
                          headers=bearer(regional))
    q1 = r.json()[0]["id"]
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    url = f"{PARTNER}/checkpoints/{q1}/files"
    payslip = PNG + b"commission-statement"

    key = secrets.token_hex(8)
    r = await client.post(url, files={"file": ("抽成明细.png", payslip, "image/png")},
                          headers=_idem(alpha.token, key))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["sha256"] == hashlib.sha256(payslip).hexdigest()
    assert (first["content_type"], first["size_bytes"]) == ("image/png", len(payslip))
    again = await client.post(url, files={"file": ("抽成明细.png", payslip, "image/png")},
                              headers=_idem(alpha.token, key))  # a retry: the same answer
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    r = await client.post(url, files={"file": ("x.exe", b"MZ\x90\x00" + b"\x00" * 60,
                                               "application/octet-stream")},
                          headers=_idem(alpha.token))
    assert r.status_code == 415 and r.json()["code"] == "attachment_type_not_allowed"
    r = await client.post(url, files={"file": ("empty.png", b"", "image/png")},
                          headers=_idem(alpha.token))
    assert r.status_code == 422 and r.json()["code"] == "attachment_empty"
    r = await client.post(url, files={"file": ("a.png", payslip, "image/png")},
                          headers=bearer(alpha.token))
    assert r.status_code == 400, r.text  # no Idempotency-Key
    big = PNG + b"\x00" * settings.bargaining.attachment_max_bytes
    r = await client.post(url, files={"file": ("big.png", big, "image/png")},
                          headers=_idem(alpha.token))
    assert r.status_code == 413 and r.json()["code"] == "attachment_too_large"

    # another partner: not its checkpoint, on every read and write
    assert (await client.get(url, headers=bearer(beta.token))).status_code == 404
    assert (await client.get(f"{url}/{first['id']}", headers=bearer(beta.token))).status_code \
        == 404
    r = await client.post(url, files={"file": ("b.png", payslip, "image/png")},
                          headers=_idem(beta.token))
    assert r.status_code == 404 and r.json()["code"] == "checkpoint_not_found"

    # listed on the checkpoint for the partner and staff, and downloadable by both
    listed = (await client.get(url, headers=bearer(alpha.token))).json()
    assert [f["id"] for f in listed] == [first["id"]]
    staff_cp = (await client.get(f"{ADMIN}/checkpoints/{q1}", headers=bearer(regional))).json()
    assert [f["sha256"] for f in staff_cp["files"]] == [first["sha256"]]
    got = await client.get(staff_cp["files"][0]["href"], headers=bearer(regional))
    assert got.status_code == 200 and got.content == payslip
    assert got.headers["content-type"].startswith("image/png")
    got = await client.get(listed[0]["href"], headers=bearer(alpha.token))
    assert got.status_code == 200 and got.content == payslip

    # the evaluation records the files; the breach case carries clause, evidence and files
    r = await client.post(f"{PARTNER}/checkpoints/{q1}/evidence",
                          json={"evidence": {"commission_rate": 0.3}},
                          headers=_idem(alpha.token))
    assert r.status_code == 201 and r.json()["breach"] is True, r.text
    assert [f["sha256"] for f in r.json()["files"]] == [first["sha256"]]
    assert await jobs.run("contracts-breach", body(federation.ids[federation.hq]),
                          sessions=app_sessions, settings=settings,
                          clock=FixedClock(datetime.now(UTC))) == 1
    case_id = (await client.get(f"{ADMIN}/checkpoints/{q1}",
                                headers=bearer(regional))).json()["case"]["case_id"]
    case = (await client.get(f"/v1/cases/{case_id}", headers=bearer(regional))).json()
    assert first["sha256"] in case["description"] and "抽成明细.png" in case["description"]
    assert r.json()["evidence_sha256"] in case["description"]
    contract = next(e for e in case["events"] if e["kind"] == "intake")["details"]["contract"]
    assert [f["sha256"] for f in contract["files"]] == [first["sha256"]]
    assert [f["sha256"] for f in contract["evidence"]["files"]] == [first["sha256"]]
    async with owner() as s:
        assert await s.scalar(text(
            "SELECT count(*) FROM audit_events WHERE object_id = :c"
            " AND action = 'contracts.evidence_file_added'"), {"c": q1}) == 1
