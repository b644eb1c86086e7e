"""证据附件: typed by their bytes, capped in size, stored with their sha256, and readable
only by those the rows' row-level security lets through."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.bargaining.reports.models import ProblemReport
from flexunion.config import Settings
from tests.support.bargaining import DETAILS, partner_client, partner_id, seed_item
from tests.support.factories import Federation, bearer, join

Owner = async_sessionmaker[AsyncSession]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40


def stored_files(settings: Settings) -> set[Path]:
    root = settings.data_dir / "attachments"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def upload(client: httpx.AsyncClient, url: str, token: str, data: bytes,
                 name: str = "证据.pdf", declared: str = "application/pdf",
                 **params: str) -> httpx.Response:
    key = {"Idempotency-Key": str(uuid.uuid4())} if "/v1/partner/" in url else {}
    return await client.post(url, files={"file": (name, data, declared)}, params=params,
                             headers=bearer(token) | key)


async def rows_for(owner: Owner, item: uuid.UUID) -> int:
    async with owner() as s:
        return (await s.execute(text("SELECT count(*) FROM agenda_attachments WHERE item_id = :i"),
                                {"i": item})).scalar_one()


async def test_pdf_is_stored_with_its_digest_and_downloads_the_same_bytes(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0], subject="ops")
    item = await seed_item(owner, federation, status="on_agenda")
    url = f"/v1/admin/bargaining/items/{item}/attachments"
    # declared as an image: the bytes say PDF, and that is what is stored
    r = await upload(client, url, admin, PDF, name="派单规则 截图.pdf", declared="image/png")
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["content_type"] == "application/pdf"
    assert got["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert got["size_bytes"] == len(PDF) and got["shared_with_partner"] is False
    assert got["uploaded_by_kind"] == "regional_admin"

    down = await client.get(f"/v1/admin/bargaining/attachments/{got['id']}",
                            headers=bearer(admin))
    assert down.status_code == 200, down.text
    assert down.content == PDF
    assert hashlib.sha256(down.content).hexdigest() == got["sha256"]
    assert down.headers["content-type"].startswith("application/pdf")
    disposition = down.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert f"filename*=UTF-8''{quote('派单规则 截图.pdf', safe='')}" in disposition
    listed = await client.get(url, headers=bearer(admin))
    assert [a["id"] for a in listed.json()] == [got["id"]]

    csv = await upload(client, url, admin, "站点,超时率\n一站,12%\n".encode(), name="data.csv",
                       declared="application/octet-stream")
    assert csv.status_code == 201 and csv.json()["content_type"].startswith("text/csv")
    async with owner() as s:
        audit = (await s.execute(text(
            "SELECT actor FROM audit_events WHERE action = 'agenda.attachment_added'"
            " AND object_id = :a"), {"a": got["id"]})).scalar_one()
    assert audit == "regional_admin:ops"


async def test_refused_files_leave_no_row_and_no_bytes(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token,
    settings: Settings,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation, status="on_agenda")
    url = f"/v1/admin/bargaining/items/{item}/attachments"
    before = stored_files(settings)
    too_big = PDF + b"\x00" * (settings.bargaining.attachment_max_bytes + 1 - len(PDF))
    r = await upload(client, url, admin, too_big)
    assert r.status_code == 413 and r.json()["code"] == "attachment_too_large", r.text
    for data, name in [(EXE, "合同.pdf"), (ZIP, "合同.pdf"), (b"\xff\xfe\x00bad", "notes.txt"),
                       (b"plain words", "notes.exe"), (b"#!/bin/sh\nrm -rf /\n", "run.sh")]:
        r = await upload(client, url, admin, data, name=name)
        assert r.status_code == 415, (name, r.text)
        assert r.json()["code"] == "attachment_type_not_allowed"
    empty = await upload(client, url, admin, b"", name="empty.txt")
    assert empty.status_code in (400, 422), empty.text
    assert await rows_for(owner, item) == 0
    assert stored_files(settings) == before


async def test_partner_sees_shared_and_own_evidence_only(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token,
) -> None:
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    item = await seed_item(owner, federation, status="in_negotiation")
    url = f"/v1/admin/bargaining/items/{item}/attachments"
    private = (await upload(client, url, admin, PDF)).json()["id"]
    shared = (await upload(client, url, admin, PNG, name="shared.png", declared="image/png",
                           shared_with_partner="true")).json()
    assert shared["shared_with_partner"] is True and shared["content_type"] == "image/png"
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")

    no = await client.get(f"/v1/partner/bargaining/attachments/{private}",
                          headers=bearer(alpha.token))
    assert no.status_code == 404 and no.json()["code"] == "attachment_not_found"
    yes = await client.get(f"/v1/partner/bargaining/attachments/{shared['id']}",
                           headers=bearer(alpha.token))
    assert yes.status_code == 200 and yes.content == PNG
    theirs = await upload(client, f"/v1/partner/bargaining/items/{item}/attachments",
                          alpha.token, PDF, name="平台数据.pdf")
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["uploaded_by_kind"] == "partner"
    seen = await client.get(f"/v1/partner/bargaining/items/{item}/attachments",
                            headers=bearer(alpha.token))
    assert sorted(a["id"] for a in seen.json()) == sorted([shared["id"], theirs.json()["id"]])
    staff_seen = await client.get(url, headers=bearer(admin))
    assert len(staff_seen.json()) == 3

    # another platform: nothing, not even the shared file
    for path in (f"/v1/partner/bargaining/attachments/{shared['id']}",
                 f"/v1/partner/bargaining/items/{item}/attachments"):
        r = await client.get(path, headers=bearer(beta.token))
        assert r.status_code == 404, r.text
    r = await upload(client, f"/v1/partner/bargaining/items/{item}/attachments", beta.token, PDF)
    assert r.status_code == 404
    # a partner token does not open the staff routes
    r = await client.get(f"/v1/admin/bargaining/attachments/{private}", headers=bearer(alpha.token))
    assert r.status_code in (401, 403)
    # not yet on the agenda: the platform cannot add evidence
    early = await seed_item(owner, federation, status="under_review")
    r = await upload(client, f"/v1/partner/bargaining/items/{early}/attachments", alpha.token, PDF)
    assert r.status_code == 404 and await rows_for(owner, early) == 0


async def test_other_region_staff_get_404(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token,
) -> None:
    r1, r2 = federation.regions
    own = await staff_token(federation, "regional_admin", r1)
    other = await staff_token(federation, "regional_admin", r2)
    item = await seed_item(owner, federation, status="on_agenda")
    url = f"/v1/admin/bargaining/items/{item}/attachments"
    file_id = (await upload(client, url, own, PDF)).json()["id"]
    for r in (await client.get(f"/v1/admin/bargaining/attachments/{file_id}",
                               headers=bearer(other)),
              await client.get(url, headers=bearer(other)),
              await upload(client, url, other, PDF)):
        assert r.status_code == 404, r.text
    assert await rows_for(owner, item) == 1
    # the federation-wide board is visible to a region, but its evidence is the HQ's to add
    hq_item = await seed_item(owner, federation, status="on_agenda", scope=federation.hq)
    r = await upload(client, f"/v1/admin/bargaining/items/{hq_item}/attachments", own, PDF)
    assert r.status_code == 403 and r.json()["code"] == "outside_subtree"


async def seed_report(owner: Owner, fed: Federation, member_id: str, worker_id: str) -> uuid.UUID:
    region = fed.regions[0]
    async with owner() as s:
        home = (await s.execute(text("SELECT tenant_id FROM members WHERE id = :m"),
                                {"m": member_id})).scalar_one()
    report = ProblemReport(
        id=uuid.uuid4(), federation_id=fed.ids[fed.hq], tenant_id=home, region_id=fed.ids[region],
        member_id=uuid.UUID(member_id), worker_id=uuid.UUID(worker_id), topic="commission_rates",
        partner_id=await partner_id(owner, fed), station_code=None, zone_code=None,
        title="抽成太高", body="每单抽成 25%", details=DETAILS["commission_rates"],
        created_at=datetime.now(UTC))
    async with owner() as s, s.begin():
        s.add(report)
    return report.id


async def test_worker_adds_evidence_to_own_report_only(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, staff_token, sms,
) -> None:
    r1 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r1)
    me = await join(client, sms, federation, r1, approver_token=admin)
    someone = await join(client, sms, federation, r1, approver_token=admin)
    report = await seed_report(owner, federation, me.member_id, me.worker_id)
    url = f"/v1/bargaining/reports/{report}/attachments"
    key = {"Idempotency-Key": secrets.token_hex(8)}
    files = {"file": ("罚款截图.png", PNG, "image/png")}
    r = await client.post(url, files=files, headers=bearer(me.token) | key)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["report_id"] == str(report) and got["item_id"] is None
    no_key = await client.post(url, files=files, headers=bearer(me.token))
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"

    mine = await client.get(url, headers=bearer(me.token))
    assert [a["id"] for a in mine.json()] == [got["id"]]
    down = await client.get(f"/v1/bargaining/attachments/{got['id']}", headers=bearer(me.token))
    assert down.status_code == 200 and down.content == PNG
    # staff of the report's region can read it too
    staff = await client.get(f"/v1/admin/bargaining/attachments/{got['id']}",
                             headers=bearer(admin))
    assert staff.status_code == 200 and staff.content == PNG

    other_key = {"Idempotency-Key": secrets.token_hex(8)}
    for r in (await client.post(url, files=files, headers=bearer(someone.token) | other_key),
              await client.get(url, headers=bearer(someone.token)),
              await client.get(f"/v1/bargaining/attachments/{got['id']}",
                               headers=bearer(someone.token))):
        assert r.status_code == 404, r.text
    async with owner() as s:
        n = (await s.execute(text("SELECT count(*) FROM agenda_attachments WHERE report_id = :r"),
                             {"r": report})).scalar_one()
    assert n == 1
