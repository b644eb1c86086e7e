"""发函's letter PDF: rendered when the 发函 rung is taken, stored in the evidence store with
its sha256 on the step, and downloaded by staff and by the platform it is addressed to — the
bytes served are the bytes hashed, and their text carries the kind, the platform's name and
every evidence item's full sha256. Real app, real database under row-level security."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
from pathlib import Path

import pypdf

from tests.cases.test_disputes import PARTNER, PNG, STAFF, app_case, rows, upload, zh_first
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer, worker_login


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


async def test_the_letter_pdf_is_fixed_with_its_hash_and_carries_the_evidence_index(
        client, sms, owner, federation: Federation, staff_token, tmp_path: Path) -> None:
    r1 = federation.regions[0]
    s1 = federation.stations[r1][0]
    region = await staff_token(federation, "regional_admin", r1)
    alpha = await partner_client(client, owner, federation, "alpha")
    beta = await partner_client(client, owner, federation, "beta")
    worker, _ = await worker_login(client, sms, federation.hq)
    cid = await app_case(client, worker, s1)
    url = f"{STAFF}/{cid}/dispute"
    opened = await client.post(url, headers=bearer(region), json={
        "kind": "unpaid_pay", "statement": "请核对并结清 9–11 月跑单收入。"})
    assert opened.status_code == 201, opened.text

    payroll, records = PNG + b"payroll", PNG + b"attendance-records"
    for data, slot, by_worker in ((payroll, "payroll", True), (records, "attendance", False)):
        att = await upload(client, worker if by_worker else region, cid, data, worker=by_worker)
        filed = await client.post(f"{url}/evidence", headers=bearer(region),
                                  json={"slot": slot, "attachment_id": att})
        assert filed.status_code == 200, filed.text
    hashes = {hashlib.sha256(payroll).hexdigest(), hashlib.sha256(records).hexdigest()}

    # no letter before 发函
    early = await client.get(f"{url}/letter", headers=bearer(region))
    assert early.status_code == 404
    zh_first(early.json(), "dispute_letter_not_found")
    for body in ({"step": "reminder", "reason": "电话提示"},
                 {"step": "consultation", "reason": "约谈", "minutes": "平台承认延迟"},
                 {"step": "letter", "reason": "逾期未补发",
                  "letter": "请于收函之日起五个工作日内结清欠付收入，并书面答复。"}):
        r = await client.post(f"{url}/steps", headers=bearer(region), json=body)
        assert r.status_code == 200, r.text
    step = r.json()["steps"][-1]
    recorded = step["details"]["letter_pdf"]
    assert set(recorded) == {"sha256", "size_bytes"}  # where it is stored is not shown

    staff_pdf = await client.get(f"{url}/letter", headers=bearer(region))
    assert staff_pdf.status_code == 200, staff_pdf.text
    assert staff_pdf.headers["content-type"] == "application/pdf"
    assert staff_pdf.content.startswith(b"%PDF-")
    assert hashlib.sha256(staff_pdf.content).hexdigest() == recorded["sha256"]
    assert len(staff_pdf.content) == recorded["size_bytes"]
    assert staff_pdf.headers["digest"] == f"sha-256={recorded['sha256']}"
    stored = await rows(owner, "SELECT s.details->'letter_pdf'->>'sha256' FROM dispute_steps s"
                               " JOIN case_disputes d ON d.id = s.dispute_id"
                               " WHERE d.case_id = :c AND s.step = 'letter'", c=cid)
    assert stored == [(recorded["sha256"],)]
    audited = await rows(owner, "SELECT payload->>'letter_sha256' FROM audit_events"
                                " WHERE action = 'dispute.letter' AND object_id = :d",
                         d=opened.json()["id"])
    assert audited == [(recorded["sha256"],)]

    # the text: the kind, the platform's name, the statement, the letter and every hash
    (name_zh, name_en), = await rows(owner, "SELECT name_zh, name_en FROM platform_partners"
                                            " WHERE code = 'alpha' AND tenant_id = :hq",
                                     hq=federation.ids[federation.hq])
    text = pdf_text(staff_pdf.content)
    for needle in ("欠薪", "unpaid_pay", name_zh, name_en, "结清欠付收入", "9–11 月跑单收入",
                   "工资表/收入明细", "记录.png", "劳动者", "工会干部", *hashes):
        assert needle in text, (needle, text)

    # the platform it is addressed to downloads the same bytes; another platform cannot
    theirs = await client.get(f"{PARTNER}/{cid}/dispute/letter", headers=bearer(alpha.token))
    assert theirs.status_code == 200 and theirs.content == staff_pdf.content
    view = (await client.get(f"{PARTNER}/{cid}/dispute", headers=bearer(alpha.token))).json()
    assert view["steps"][-1]["details"]["letter_pdf"] == recorded
    other = await client.get(f"{PARTNER}/{cid}/dispute/letter", headers=bearer(beta.token))
    assert other.status_code == 404 and other.json()["code"] == "dispute_not_found"
    # a worker's token is not staff
    assert (await client.get(f"{url}/letter", headers=bearer(worker))).status_code in (401, 403)

    # it opens: poppler renders page 1 (where installed)
    if shutil.which("pdftoppm"):
        pdf = tmp_path / "letter.pdf"
        pdf.write_bytes(staff_pdf.content)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                        str(tmp_path / "page")], check=True, timeout=60)
        page = next(tmp_path.glob("page*.png"))
        assert page.stat().st_size > 5_000
        if out := os.environ.get("FLEXUNION_LETTER_PNG"):
            shutil.copy(page, out)
