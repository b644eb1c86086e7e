"""核验材料附件 in a real browser: the files the partner attached to a checkpoint's evidence
through its machine API are listed on the console's checkpoint page (name, type, size,
sha256) and download as stored; the evaluation row names the files it was made on."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.conftest import shoot, sign_in
from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
from tests.support.bargaining import partner_client
from tests.support.console import staff_account
from tests.support.factories import Federation, bearer

PARTNER = "/v1/partner/contracts"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32


def _idem(token: str) -> dict[str, str]:
    return bearer(token) | {"Idempotency-Key": secrets.token_hex(8)}


async def test_the_checkpoint_page_lists_and_downloads_the_evidence_files(
        page: Page, client, owner, staff_token, federation: Federation) -> None:
    await load_templates(owner, federation)
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    agreement = await make_agreement(client, admin, scope=federation.regions[0])
    r = await add_clause(client, admin, agreement["id"], 1, template="union.funding",
                         parameters={"rate_pct": 2})
    assert (await in_force(client, admin, agreement["id"], 1)).status_code == 200
    r = await client.post(f"/v1/admin/contracts/clauses/{r.json()['id']}/checkpoints",
                          json={"schedule": "quarterly", "evidence_days": 10},
                          headers=bearer(admin))
    q1 = r.json()[0]["id"]
    alpha = await partner_client(client, owner, federation, "alpha")
    receipt = PNG + b"bank-receipt"
    r = await client.post(f"{PARTNER}/checkpoints/{q1}/files",
                          files={"file": ("经费划拨回单.png", receipt, "image/png")},
                          headers=_idem(alpha.token))
    assert r.status_code == 201, r.text
    sha = hashlib.sha256(receipt).hexdigest()
    r = await client.post(f"{PARTNER}/checkpoints/{q1}/evidence",
                          json={"evidence": {"paid_rate_pct": 2.0, "paid_on_time": True}},
                          headers=_idem(alpha.token))
    assert r.status_code == 201, r.text

    username, password = await staff_account(owner, federation.regions[0], "regional_admin")
    await sign_in(page, username, password)
    await page.goto(f"/console/contracts/checkpoints/{q1}")
    files = page.get_by_test_id("evidence-files")
    await expect(files).to_contain_text("经费划拨回单.png")
    await expect(files).to_contain_text(sha)
    await expect(files).to_contain_text("image/png")
    await expect(page.get_by_test_id("evaluation-files")).to_contain_text(sha[:12])
    await shoot(page, "contracts-checkpoint-files")
    async with page.expect_download() as got:
        await files.get_by_test_id("file-download").click()
    download = await got.value
    assert download.suggested_filename == "经费划拨回单.png"
    path = await download.path()
    assert path is not None and Path(path).read_bytes() == receipt
